import * as z from '../validation';
import { SnapshotId } from '../core/identifiers';
import { listSnapshots, type SnapshotListing } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';

export const MAX_SNAPSHOTS_PER_PAGE = 1000;

export const ListSnapshotsQuery = z.strictObject({
  limit: z._default(z.coerce.number().check(z.int(), z.minimum(1), z.maximum(MAX_SNAPSHOTS_PER_PAGE)), MAX_SNAPSHOTS_PER_PAGE),
  cursor: z.optional(SnapshotId),
});

export const handler = apiHandler({
  query: ListSnapshotsQuery,
  message: (listing: SnapshotListing) => `Found ${listing.total_count} snapshots`,
  run: ({ query }, deps) => listSnapshots(deps, { limit: query.limit, cursor: query.cursor }),
});
