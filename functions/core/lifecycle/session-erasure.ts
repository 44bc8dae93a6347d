/**
 * Erases a session everywhere: tombstone → objects of every per-session kind → all rows in one
 * transaction → objects again. The tombstone (session_erasures) makes it safe to retry after a crash at
 * any step, and refuses a hold meanwhile; the second object pass removes what a transcription still
 * running wrote after the first. Snapshots taken before keep their copy until their own retention ends.
 */
import type { Dependencies } from '../dependencies';
import { conflict, notFound } from '../errors';
import { type SessionObjectKind, sessionObjectKinds, sessionObjectPrefixFor } from '../keys';
import { listAll, type ObjectStore } from '../ports/object-store';
import type { SqlRunner } from '../ports/sql';

/** Row tables in deletion order (children first); each has a session_id column. */
const SESSION_TABLES = ['execution_results', 'code_history', 'audio_chunks', 'session_holds', 'session_erasures', 'sessions'] as const;
type SessionTable = (typeof SESSION_TABLES)[number];

export interface ErasureReport {
  session_id: string;
  /** Rows deleted, per table. */
  rows: Record<SessionTable, number>;
  /** Chunks whose transcript text was in the full-text search index. */
  search_index_entries: number;
  /** Objects deleted, per kind (functions/core/keys.ts SESSION_OBJECT_KINDS). */
  objects: Record<SessionObjectKind, number>;
  /** Objects deleted, all kinds together. */
  keys_deleted: number;
}

type ErasureDeps = Pick<Dependencies, 'sql' | 'store' | 'logger'>;

/** Writes the tombstone, or finds the one a cut-short erasure left; 404 for no session, 409 for a held one. */
const startErasure = async ({ sql }: ErasureDeps, sessionId: string): Promise<void> => {
  await sql.transaction(async (tx) => {
    const [row] = await tx.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM session_holds h WHERE h.session_id = s.session_id) AS held
       FROM sessions s WHERE s.session_id = :session_id FOR UPDATE`,
      { session_id: sessionId },
    );
    if (!row) throw notFound('Session not found', `No session with id "${sessionId}"`);
    if (row.held) throw conflict('Session is on legal hold', `Session "${sessionId}" is on legal hold; release the hold to erase it`);
    await tx.query('INSERT INTO session_erasures (session_id) VALUES (:session_id) ON CONFLICT (session_id) DO NOTHING', {
      session_id: sessionId,
    });
  });
};

const DELETE_BATCH = 1000;

const deleteObjectsOf = async (store: ObjectStore, sessionId: string): Promise<Record<SessionObjectKind, number>> => {
  const counts = Object.fromEntries(sessionObjectKinds.map((kind) => [kind, 0])) as Record<SessionObjectKind, number>;
  for (const kind of sessionObjectKinds) {
    // Listed whole before deleting, so deletions never shift the pages being read.
    const keys: string[] = [];
    for await (const object of listAll(store, sessionObjectPrefixFor(kind, sessionId))) keys.push(object.key);
    for (let start = 0; start < keys.length; start += DELETE_BATCH) await store.delete(keys.slice(start, start + DELETE_BATCH));
    counts[kind] = keys.length;
  }
  return counts;
};

const countOf = async (tx: SqlRunner, statement: string, sessionId: string): Promise<number> => {
  const [row] = await tx.query<{ n: string | number }>(statement, { session_id: sessionId });
  return Number(row?.n ?? 0);
};

const deleteRowsOf = async ({ sql }: ErasureDeps, sessionId: string) =>
  sql.transaction(async (tx) => {
    const searchIndexEntries = await countOf(
      tx,
      'SELECT count(*) AS n FROM audio_chunks WHERE session_id = :session_id AND transcript_text IS NOT NULL',
      sessionId,
    );
    const rows = {} as Record<SessionTable, number>;
    for (const table of SESSION_TABLES) {
      rows[table] = await countOf(
        tx,
        `WITH deleted AS (DELETE FROM ${table} WHERE session_id = :session_id RETURNING 1) SELECT count(*) AS n FROM deleted`,
        sessionId,
      );
    }
    return { rows, searchIndexEntries };
  });

export const eraseSession = async (deps: ErasureDeps, sessionId: string): Promise<ErasureReport> => {
  await startErasure(deps, sessionId);
  const objects = await deleteObjectsOf(deps.store, sessionId);
  const { rows, searchIndexEntries } = await deleteRowsOf(deps, sessionId);
  const late = await deleteObjectsOf(deps.store, sessionId);
  for (const kind of sessionObjectKinds) objects[kind] += late[kind];
  const report = {
    session_id: sessionId,
    rows,
    search_index_entries: searchIndexEntries,
    objects,
    keys_deleted: sessionObjectKinds.reduce((sum, kind) => sum + objects[kind], 0),
  };
  // The audit trail of an erasure request: what was removed, and when (the log line's time).
  deps.logger.info('Session erased', { ...report });
  return report;
};

/** Sessions whose erasure started and did not finish (a crash, a timeout): the sweep finishes them. */
export const unfinishedErasures = async (sql: SqlRunner): Promise<string[]> =>
  (await sql.query<{ session_id: string }>('SELECT session_id FROM session_erasures ORDER BY started_at LIMIT 100')).map(
    (row) => row.session_id,
  );
