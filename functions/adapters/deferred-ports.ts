/**
 * Ports whose adapter is opened on first use. On Lambda every function builds the same dependencies,
 * but most use only some of them: a route that reads the database should not load the S3 client, nor
 * one that lists transcripts the RDS Data API client, at cold start. The first call opens the adapter;
 * a failed open is forgotten so the next call tries again.
 */
import type { BatchTranscriber } from '../core/ports/batch-transcriber';
import type { ObjectStore } from '../core/ports/object-store';
import type { Sql } from '../core/ports/sql';
import type { Transcriber } from '../core/ports/transcriber';

const openOnce = <T>(open: () => Promise<T>) => {
  let opened: Promise<T> | undefined;
  return {
    get: () =>
      (opened ??= open().catch((error: unknown) => {
        opened = undefined;
        throw error;
      })),
    /** Closes the adapter if a call opened it: one never opened has nothing to close. */
    closeIfOpened: async (close: (adapter: T) => Promise<void>) => {
      if (opened) await close(await opened);
    },
  };
};

export const deferredSql = (open: () => Promise<Sql>): Sql => {
  const sql = openOnce(open);
  return {
    query: async (statement, params) => (await sql.get()).query(statement, params),
    transaction: async (work, options) => (await sql.get()).transaction(work, options),
    close: () => sql.closeIfOpened((adapter) => adapter.close()),
  };
};

/** `locationOf` answers at once: where a key lives is known without opening the store. */
export const deferredObjectStore = (locationOf: (key: string) => string, open: () => Promise<ObjectStore>): ObjectStore => {
  const store = openOnce(open);
  return {
    put: async (key, body, options) => (await store.get()).put(key, body, options),
    putStream: async (key, body, options) => (await store.get()).putStream(key, body, options),
    get: async (key) => (await store.get()).get(key),
    head: async (key) => (await store.get()).head(key),
    getRange: async (key, start, end) => (await store.get()).getRange(key, start, end),
    getStream: async (key) => (await store.get()).getStream(key),
    presignPut: async (key, options) => (await store.get()).presignPut(key, options),
    presignGet: async (key, options) => (await store.get()).presignGet(key, options),
    list: async (prefix, options) => (await store.get()).list(prefix, options),
    delete: async (keys) => (await store.get()).delete(keys),
    // Always present, since whether the store has tags is only known once open: deferred stores wrap S3, which does.
    setTags: async (key, tags) => {
      const opened = await store.get();
      if (!opened.setTags) throw new Error('this object store keeps no tags');
      return opened.setTags(key, tags);
    },
    ping: async () => (await store.get()).ping(),
    locationOf,
  };
};

export const deferredTranscriber = (
  identity: Pick<Transcriber, 'engine' | 'acceptedFormats'>,
  open: () => Promise<Transcriber>,
): Transcriber => {
  const transcriber = openOnce(open);
  return {
    engine: identity.engine,
    acceptedFormats: identity.acceptedFormats,
    transcribe: async (audio) => (await transcriber.get()).transcribe(audio),
    close: () => transcriber.closeIfOpened((adapter) => adapter.close()),
  };
};

/** Reading a job's output needs no client: only starting one opens the adapter. */
export const deferredBatchTranscriber = (
  identity: Pick<BatchTranscriber, 'engine' | 'acceptedFormats' | 'readOutput'>,
  open: () => Promise<BatchTranscriber>,
): BatchTranscriber => {
  const batch = openOnce(open);
  return {
    engine: identity.engine,
    acceptedFormats: identity.acceptedFormats,
    readOutput: identity.readOutput,
    start: async (job) => (await batch.get()).start(job),
  };
};
