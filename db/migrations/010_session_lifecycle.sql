-- A legal hold keeps a session's data past every retention period and refuses its erasure until released.
CREATE TABLE IF NOT EXISTS session_holds (
  session_id text PRIMARY KEY REFERENCES sessions (session_id) ON DELETE CASCADE,
  reason     text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
  placed_at  timestamptz NOT NULL DEFAULT now()
);
-- The tombstone of an erasure under way: written before any object is deleted, removed with the session's
-- rows. A retry after a crash finds it and finishes; a hold is refused while it exists.
CREATE TABLE IF NOT EXISTS session_erasures (
  session_id text PRIMARY KEY REFERENCES sessions (session_id) ON DELETE CASCADE,
  started_at timestamptz NOT NULL DEFAULT now()
);
-- The retention sweep finds sessions and transcripts past their period without a full scan.
CREATE INDEX IF NOT EXISTS sessions_created_at_idx ON sessions (created_at);
CREATE INDEX IF NOT EXISTS audio_chunks_transcript_updated_idx ON audio_chunks (transcript_updated_at)
  WHERE transcript_text IS NOT NULL;
