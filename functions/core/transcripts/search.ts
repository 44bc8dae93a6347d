/**
 * GET /search/transcripts: PostgreSQL full-text search over the text each transcription stores on its
 * chunk row (migration 006), one query: websearch_to_tsquery for the words and "phrases", ts_rank for the
 * order, ts_headline for the snippet. The headline and the chunk's offset on its session timeline are
 * computed for the page's rows only, after the ranking. The offset is the chunk's started_at when the upload
 * gave one, else the sum of the durations of the session's chunks before it.
 */
import type { Dependencies } from '../dependencies';

export interface SearchRequest {
  q: string;
  sessionId?: string | undefined;
  /** Only chunks of this speaker (the label given at upload). */
  speaker?: string | undefined;
  limit: number;
  /** Results to skip: the previous page's next_cursor. */
  cursor?: number | undefined;
}

export interface SearchResult {
  session_id: string;
  chunk_id: string;
  speaker: string | null;
  /** Seconds from the session's start to the chunk's start. */
  offset: number;
  rank: number;
  /** Text around the matches, each match in <b>…</b>. */
  snippet: string;
}

export interface SearchAnswer {
  results: SearchResult[];
  next_cursor: string | null;
}

export const searchTranscripts = async ({ sql }: Pick<Dependencies, 'sql'>, request: SearchRequest): Promise<SearchAnswer> => {
  const skip = request.cursor ?? 0;
  const rows = await sql.query<{
    session_id: string;
    chunk_id: string;
    speaker: string | null;
    rank: number;
    snippet: string;
    chunk_offset: number;
  }>(
    `SELECT page.session_id, page.chunk_id::text AS chunk_id, page.speaker, page.rank,
            ts_headline('english', page.transcript_text, page.query,
                        'StartSel=<b>, StopSel=</b>, MaxWords=30, MinWords=10, MaxFragments=2') AS snippet,
            CASE WHEN page.started_at IS NOT NULL
                 THEN greatest(0, extract(epoch FROM date_trunc('milliseconds', page.started_at)
                                          - (SELECT date_trunc('milliseconds', s.created_at) FROM sessions s WHERE s.session_id = page.session_id)))
                 ELSE coalesce((SELECT sum(p.duration) FROM audio_chunks p
                                WHERE p.session_id = page.session_id AND p.chunk_id < page.chunk_id), 0)
            END::float8 AS chunk_offset
     FROM (
       SELECT a.session_id, a.chunk_id, a.speaker, a.started_at, a.transcript_text, query, ts_rank(a.transcript_tsv, query)::float8 AS rank
       FROM audio_chunks a, websearch_to_tsquery('english', :q) AS query
       WHERE a.transcript_tsv @@ query
         AND (CAST(:session_id AS text) IS NULL OR a.session_id = CAST(:session_id AS text))
         AND (CAST(:speaker AS text) IS NULL OR a.speaker = CAST(:speaker AS text))
       ORDER BY rank DESC, a.chunk_id
       LIMIT CAST(:limit AS integer) OFFSET CAST(:skip AS integer)
     ) AS page
     ORDER BY page.rank DESC, page.chunk_id`,
    { q: request.q, session_id: request.sessionId ?? null, speaker: request.speaker ?? null, limit: request.limit + 1, skip },
  );
  const more = rows.length > request.limit;
  return {
    results: rows.slice(0, request.limit).map((row) => ({
      session_id: String(row.session_id),
      chunk_id: String(row.chunk_id),
      speaker: row.speaker === null || row.speaker === undefined ? null : String(row.speaker),
      offset: Math.round(Number(row.chunk_offset) * 1000) / 1000,
      rank: Math.round(Number(row.rank) * 1e6) / 1e6,
      snippet: String(row.snippet),
    })),
    next_cursor: more ? String(skip + request.limit) : null,
  };
};
