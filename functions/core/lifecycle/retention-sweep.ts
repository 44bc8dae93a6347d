/**
 * The scheduled retention sweep: finish cut-short erasures → erase sessions past their period → drop
 * expired transcripts from the search index → objects: delete the expired ones (locally) or re-tag held
 * sessions' objects (on AWS, where tag-filtered bucket lifecycle rules expire them). Held sessions are
 * skipped throughout. Every step is idempotent, so a failed run is simply the next run's work.
 */
import type { Dependencies } from '../dependencies';
import { isDomainError } from '../errors';
import { SESSION_OBJECT_KINDS, type SessionObjectKind, sessionIdOfKey, sessionObjectKinds } from '../keys';
import { listAll } from '../ports/object-store';
import { retagSessionObjects } from './retention-tags';
import { eraseSession, unfinishedErasures } from './session-erasure';
import { heldSessionIds } from './session-holds';

export interface SweepReport {
  sessions_erased: number;
  /** Chunks whose transcript text left the search index. */
  transcripts_unindexed: number;
  /** Expired objects deleted by the sweep, per kind (objectsExpiredBy 'sweep'). */
  objects_deleted: Record<SessionObjectKind, number>;
  /** Objects of held sessions re-tagged `held` (objectsExpiredBy 'bucket-lifecycle'). */
  objects_retagged: number;
}

type SweepDeps = Pick<Dependencies, 'sql' | 'store' | 'logger' | 'retention'>;

const DAY_MS = 86_400_000;
/** Sessions erased per statement that finds them; a run loops until none is left. */
const SESSION_BATCH = 100;

const cutoffOf = (now: Date, days: number): string => new Date(now.getTime() - days * DAY_MS).toISOString();

const eraseAll = async (deps: SweepDeps, sessionIds: readonly string[]): Promise<number> => {
  let erased = 0;
  for (const sessionId of sessionIds) {
    try {
      await eraseSession(deps, sessionId);
      erased += 1;
    } catch (error) {
      // Held or gone since it was found: not this run's to erase.
      if (isDomainError(error) && (error.kind === 'conflict' || error.kind === 'not_found')) continue;
      throw error;
    }
  }
  return erased;
};

const expiredSessions = async ({ sql }: SweepDeps, cutoff: string, after: string) =>
  (
    await sql.query<{ session_id: string }>(
      `SELECT s.session_id FROM sessions s
       WHERE s.created_at < CAST(:cutoff AS timestamptz) AND s.session_id > :after
         AND NOT EXISTS (SELECT 1 FROM session_holds h WHERE h.session_id = s.session_id)
       ORDER BY s.session_id LIMIT ${SESSION_BATCH}`,
      { cutoff, after },
    )
  ).map((row) => row.session_id);

const unindexExpiredTranscripts = async ({ sql }: SweepDeps, cutoff: string): Promise<number> => {
  const [row] = await sql.query<{ n: string | number }>(
    `WITH cleared AS (
       UPDATE audio_chunks c SET transcript_text = NULL
       WHERE c.transcript_text IS NOT NULL AND c.transcript_updated_at < CAST(:cutoff AS timestamptz)
         AND NOT EXISTS (SELECT 1 FROM session_holds h WHERE h.session_id = c.session_id)
       RETURNING 1)
     SELECT count(*) AS n FROM cleared`,
    { cutoff },
  );
  return Number(row?.n ?? 0);
};

/** What a lifecycle rule does, done by the sweep where there is none: per-session objects older than their period. */
const deleteExpiredObjects = async (deps: SweepDeps, now: Date, held: ReadonlySet<string>) => {
  const deleted = Object.fromEntries(sessionObjectKinds.map((kind) => [kind, 0])) as Record<SessionObjectKind, number>;
  for (const kind of sessionObjectKinds) {
    const { prefix, retention } = SESSION_OBJECT_KINDS[kind];
    const days = retention === 'audio' ? deps.retention.audioDays : deps.retention.transcriptDays;
    if (days === undefined) continue;
    const cutoff = cutoffOf(now, days);
    const expired: string[] = [];
    for await (const object of listAll(deps.store, prefix)) {
      const sessionId = sessionIdOfKey(kind, object.key);
      if (sessionId !== null && !held.has(sessionId) && object.lastModified < cutoff) expired.push(object.key);
    }
    for (let start = 0; start < expired.length; start += 1000) await deps.store.delete(expired.slice(start, start + 1000));
    deleted[kind] = expired.length;
  }
  return deleted;
};

export const runRetentionSweep = async (deps: SweepDeps, now: Date): Promise<SweepReport> => {
  const { retention } = deps;
  let sessionsErased = await eraseAll(deps, await unfinishedErasures(deps.sql));

  if (retention.sessionDays !== undefined) {
    const cutoff = cutoffOf(now, retention.sessionDays);
    for (
      let after = '', batch = await expiredSessions(deps, cutoff, after);
      batch.length > 0;
      batch = await expiredSessions(deps, cutoff, after)
    ) {
      sessionsErased += await eraseAll(deps, batch);
      after = batch[batch.length - 1]!;
    }
  }

  const transcriptsUnindexed =
    retention.transcriptDays === undefined ? 0 : await unindexExpiredTranscripts(deps, cutoffOf(now, retention.transcriptDays));

  const held = await heldSessionIds(deps.sql);
  let objectsDeleted = Object.fromEntries(sessionObjectKinds.map((kind) => [kind, 0])) as Record<SessionObjectKind, number>;
  let objectsRetagged = 0;
  if (retention.objectsExpiredBy === 'sweep') {
    objectsDeleted = await deleteExpiredObjects(deps, now, held);
  } else {
    // Objects written into a held session after its hold was placed carry the expiring tag: re-tag daily.
    for (const sessionId of held) objectsRetagged += await retagSessionObjects(deps.store, sessionId, 'held');
  }

  const report = {
    sessions_erased: sessionsErased,
    transcripts_unindexed: transcriptsUnindexed,
    objects_deleted: objectsDeleted,
    objects_retagged: objectsRetagged,
  };
  deps.logger.info('Retention sweep done', { ...report });
  return report;
};
