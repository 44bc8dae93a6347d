/**
 * Legal holds. A held session is exempt from retention (the sweep skips it; on AWS its objects are
 * re-tagged so the lifecycle rules pass them over) and its erasure is refused until the hold is released.
 * Place: lock the session → refuse one being erased → upsert the hold → re-tag its objects `held`.
 */
import type { Dependencies } from '../dependencies';
import { conflict, notFound } from '../errors';
import type { SqlRunner } from '../ports/sql';
import { retagSessionObjects } from './retention-tags';

export interface SessionHold {
  session_id: string;
  held: true;
  reason: string;
  placed_at: string;
}

export interface ReleasedHold {
  session_id: string;
  held: false;
  /** The hold this call released; null when the session had none (a repeated release). */
  released: { reason: string; placed_at: string } | null;
}

type HoldDeps = Pick<Dependencies, 'sql' | 'store' | 'retention' | 'logger'>;

const sessionMissing = (sessionId: string) => notFound('Session not found', `No session with id "${sessionId}"`);

/** Locks the session row against a concurrent erasure; whether an erasure has started. */
const lockSession = async (tx: SqlRunner, sessionId: string) => {
  const [row] = await tx.query<{ erasing: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM session_erasures e WHERE e.session_id = s.session_id) AS erasing
     FROM sessions s WHERE s.session_id = :session_id FOR UPDATE`,
    { session_id: sessionId },
  );
  if (!row) throw sessionMissing(sessionId);
  return row;
};

/** Places a hold, or updates the reason of the one in place (keeping when it was placed). */
export const placeHold = async ({ sql, store, retention, logger }: HoldDeps, sessionId: string, reason: string): Promise<SessionHold> => {
  const hold = await sql.transaction(async (tx) => {
    if ((await lockSession(tx, sessionId)).erasing) {
      throw conflict('Session is being erased', `Session "${sessionId}" is being erased; it can no longer be held`);
    }
    const [row] = await tx.query<{ reason: string; placed_at: string }>(
      `INSERT INTO session_holds (session_id, reason) VALUES (:session_id, :reason)
       ON CONFLICT (session_id) DO UPDATE SET reason = EXCLUDED.reason
       RETURNING reason, placed_at`,
      { session_id: sessionId, reason },
    );
    return row!;
  });
  // After the commit: a failure here answers 503 and a retried PUT re-tags; the daily sweep re-tags held sessions too.
  if (retention.objectsExpiredBy === 'bucket-lifecycle') await retagSessionObjects(store, sessionId, 'held');
  logger.info('Legal hold placed', { session_id: sessionId, reason: hold.reason });
  return { session_id: sessionId, held: true, reason: hold.reason, placed_at: hold.placed_at };
};

/** Releases the hold; repeating it is harmless and re-tags the objects again, so a release cut short can be retried. */
export const releaseHold = async ({ sql, store, retention, logger }: HoldDeps, sessionId: string): Promise<ReleasedHold> => {
  const released = await sql.transaction(async (tx) => {
    await lockSession(tx, sessionId);
    const [row] = await tx.query<{ reason: string; placed_at: string }>(
      'DELETE FROM session_holds WHERE session_id = :session_id RETURNING reason, placed_at',
      { session_id: sessionId },
    );
    return row ? { reason: row.reason, placed_at: row.placed_at } : null;
  });
  if (retention.objectsExpiredBy === 'bucket-lifecycle') await retagSessionObjects(store, sessionId, 'expires');
  if (released) logger.info('Legal hold released', { session_id: sessionId, reason: released.reason });
  return { session_id: sessionId, held: false, released };
};

/** Every held session: few, so read whole. */
export const heldSessionIds = async (sql: SqlRunner): Promise<Set<string>> =>
  new Set((await sql.query<{ session_id: string }>('SELECT session_id FROM session_holds')).map((row) => row.session_id));
