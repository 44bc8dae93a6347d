/**
 * The scheduled retention sweep: finish cut-short erasures → erase sessions past their period → drop
 * expired transcripts from the search index → objects: delete those of erased sessions, and the expired
 * ones (locally) or re-tag held sessions' objects (on AWS, where tag-filtered lifecycle rules expire
 * them). Held sessions are skipped throughout. Every step is idempotent: a failed run is the next one's work.
 */
import type { Dependencies } from '../dependencies';
import { isDomainError } from '../errors';
import { SESSION_OBJECT_KINDS, type SessionObjectKind, sessionIdOfKey, sessionObjectKinds } from '../keys';
import { listAll, type StoredObject } from '../ports/object-store';
import { retagSessionObjects } from './retention-tags';
import { eraseSession, unfinishedErasures } from './session-erasure';
import { heldSessionIds } from './session-holds';

export interface SweepReport {
  sessions_erased: number;
  /** Chunks whose transcript text left the search index. */
  transcripts_unindexed: number;
  /** Expired objects deleted by the sweep, per kind (objectsExpiredBy 'sweep'). */
  objects_deleted: Record<SessionObjectKind, number>;
  /** Objects whose session no longer exists: written after its erasure's last pass. */
  orphans_deleted: number;
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

/** Sessions whose existence one statement checks: their ids stay well under the Data API's limits. */
const SESSION_CHECK_BATCH = 500;

/** Of these session ids, the ones with no session row. */
const sessionsWithoutRows = async ({ sql }: SweepDeps, sessionIds: readonly string[]): Promise<Set<string>> =>
  new Set(
    (
      await sql.query<{ session_id: string }>(
        `SELECT v.session_id FROM json_array_elements_text(CAST(:ids AS json)) AS v (session_id)
         WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = v.session_id)`,
        { ids: JSON.stringify(sessionIds) },
      )
    ).map((row) => row.session_id),
  );

const zeroPerKind = () => Object.fromEntries(sessionObjectKinds.map((kind) => [kind, 0])) as Record<SessionObjectKind, number>;

/**
 * One listing of every per-session prefix: objects whose session has no row (written by an upload or a
 * transcription that finished after its session was erased) are deleted; where no lifecycle rule
 * expires objects, so are those older than their period, unless the session is held. A session's row
 * always exists before its first object, so an object without one is never a session being created.
 */
const sweepObjects = async (deps: SweepDeps, now: Date, held: ReadonlySet<string>) => {
  const expired = zeroPerKind();
  let orphaned = 0;
  for (const kind of sessionObjectKinds) {
    const { prefix, retention } = SESSION_OBJECT_KINDS[kind];
    const days = retention === 'audio' ? deps.retention.audioDays : deps.retention.transcriptDays;
    const cutoff = deps.retention.objectsExpiredBy === 'sweep' && days !== undefined ? cutoffOf(now, days) : undefined;
    const doomed: string[] = [];
    // Keys come sorted, so each session's keys are consecutive: decide per batch of sessions.
    let batch = new Map<string, StoredObject[]>();
    const decide = async () => {
      if (batch.size === 0) return;
      const orphans = await sessionsWithoutRows(deps, [...batch.keys()]);
      for (const [sessionId, objects] of batch) {
        const gone = orphans.has(sessionId)
          ? objects
          : cutoff !== undefined && !held.has(sessionId)
            ? objects.filter((object) => object.lastModified < cutoff)
            : [];
        doomed.push(...gone.map((object) => object.key));
        if (orphans.has(sessionId)) orphaned += gone.length;
        else expired[kind] += gone.length;
      }
      batch = new Map();
    };
    for await (const object of listAll(deps.store, prefix)) {
      const sessionId = sessionIdOfKey(kind, object.key);
      if (sessionId === null) continue;
      if (!batch.has(sessionId) && batch.size >= SESSION_CHECK_BATCH) await decide();
      const objects = batch.get(sessionId) ?? [];
      objects.push(object);
      batch.set(sessionId, objects);
    }
    await decide();
    // Deleted once the listing is done, so deletions never shift the pages being read.
    for (let start = 0; start < doomed.length; start += 1000) await deps.store.delete(doomed.slice(start, start + 1000));
  }
  return { expired, orphaned };
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
  const objects = await sweepObjects(deps, now, held);
  let objectsRetagged = 0;
  if (retention.objectsExpiredBy === 'bucket-lifecycle') {
    // Objects written into a held session after its hold was placed carry the expiring tag: re-tag daily.
    for (const sessionId of held) objectsRetagged += await retagSessionObjects(deps.store, sessionId, 'held');
  }

  const report = {
    sessions_erased: sessionsErased,
    transcripts_unindexed: transcriptsUnindexed,
    objects_deleted: objects.expired,
    orphans_deleted: objects.orphaned,
    objects_retagged: objectsRetagged,
  };
  deps.logger.info('Retention sweep done', { ...report });
  return report;
};
