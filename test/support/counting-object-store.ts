/** Wraps a real object store and counts the requests made through it, as S3 would bill them. */
import type { ObjectStore } from '../../functions/core/ports/object-store';

export type StoreOperation =
  | 'put'
  | 'putStream'
  | 'get'
  | 'getRange'
  | 'getStream'
  | 'head'
  | 'list'
  | 'delete'
  | 'ping'
  | 'presignPut'
  | 'presignGet';

export interface CountingObjectStore extends ObjectStore {
  counts: Record<StoreOperation, number>;
  reset(): void;
}

export const countingObjectStore = (inner: ObjectStore): CountingObjectStore => {
  const counts: Record<StoreOperation, number> = {
    put: 0,
    putStream: 0,
    get: 0,
    getRange: 0,
    getStream: 0,
    head: 0,
    list: 0,
    delete: 0,
    ping: 0,
    presignPut: 0,
    presignGet: 0,
  };
  return {
    counts,
    reset: () => {
      for (const operation of Object.keys(counts) as StoreOperation[]) counts[operation] = 0;
    },
    put: (...args) => (counts.put++, inner.put(...args)),
    putStream: (...args) => (counts.putStream++, inner.putStream(...args)),
    get: (...args) => (counts.get++, inner.get(...args)),
    getRange: (...args) => (counts.getRange++, inner.getRange(...args)),
    getStream: (...args) => (counts.getStream++, inner.getStream(...args)),
    head: (...args) => (counts.head++, inner.head(...args)),
    presignPut: (...args) => (counts.presignPut++, inner.presignPut(...args)),
    presignGet: (...args) => (counts.presignGet++, inner.presignGet(...args)),
    list: (...args) => (counts.list++, inner.list(...args)),
    delete: (...args) => (counts.delete++, inner.delete(...args)),
    ping: () => (counts.ping++, inner.ping()),
    locationOf: (key) => inner.locationOf(key),
  };
};
