/**
 * The object tag that bucket lifecycle rules filter on: a retained kind's objects are written tagged
 * `expires`, a legal hold re-tags its session's objects `held`, so the rules pass them over.
 */
import { SESSION_OBJECT_PREFIXES, type SessionObjectKind, sessionObjectKinds, sessionObjectPrefixFor } from '../keys';
import { listAll, type ObjectStore } from '../ports/object-store';

export const RETENTION_TAG_KEY = 'retention';
export type RetentionTagValue = 'expires' | 'held';
/** The tag a lifecycle rule expires objects by (lib/storage.ts). */
export const EXPIRING_TAG = { [RETENTION_TAG_KEY]: 'expires' } as const satisfies Record<string, RetentionTagValue>;

/** Tags a new object is written with: the expiring tag for every per-session kind, none for anything else. */
export const objectTagsFor = (key: string): Record<string, string> | undefined =>
  SESSION_OBJECT_PREFIXES.some((prefix) => key.startsWith(prefix)) ? { ...EXPIRING_TAG } : undefined;

/** Parallel tag writes: one request per object, so a session of a few thousand objects re-tags in seconds. */
const TAGGING_CONCURRENCY = 16;

/** Re-tags every object of a session; a no-op (0) on a store without tags. Safe to repeat. */
export const retagSessionObjects = async (store: ObjectStore, sessionId: string, value: RetentionTagValue): Promise<number> => {
  const setTags = store.setTags?.bind(store);
  if (!setTags) return 0;
  let tagged = 0;
  for (const kind of sessionObjectKinds as SessionObjectKind[]) {
    const keys: string[] = [];
    for await (const object of listAll(store, sessionObjectPrefixFor(kind, sessionId))) keys.push(object.key);
    for (let start = 0; start < keys.length; start += TAGGING_CONCURRENCY) {
      await Promise.all(keys.slice(start, start + TAGGING_CONCURRENCY).map((key) => setTags(key, { [RETENTION_TAG_KEY]: value })));
    }
    tagged += keys.length;
  }
  return tagged;
};
