import { listSnapshots, type SnapshotListing } from '../core/snapshots/read-snapshots';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['list-snapshots'],
  message: (listing: SnapshotListing) => `Found ${listing.total_count} snapshots`,
  run: ({ query }, deps) => listSnapshots(deps, { limit: query.limit, cursor: query.cursor }),
});
