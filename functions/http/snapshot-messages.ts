import type { SnapshotView } from '../core/snapshots/read-snapshots';

/** The seed's message, or why `data` is null when the snapshot is too big to return in a response. */
export const snapshotMessage =
  (found: string) =>
  (view: SnapshotView): string =>
    view.data === null ? `${found}; its data exceeds the response size limit, read it part by part from the paths in parts` : found;
