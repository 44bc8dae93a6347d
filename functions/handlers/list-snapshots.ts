import { z } from 'zod';
import { SnapshotId } from '../core/identifiers';
import { listSnapshots, type SnapshotListing } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';

export const MAX_SNAPSHOTS_PER_PAGE = 1000;

export const ListSnapshotsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_SNAPSHOTS_PER_PAGE).default(MAX_SNAPSHOTS_PER_PAGE),
  cursor: SnapshotId.optional(),
});

export const handler = apiHandler({
  query: ListSnapshotsQuery,
  message: (listing: SnapshotListing) => `Found ${listing.total_count} snapshots`,
  run: ({ query }, deps) => listSnapshots(deps, { limit: query.limit, cursor: query.cursor }),
});
