-- What a platform says about a chunk when it uploads it: its number within the session (a retried upload
-- with the same number is the same chunk), whose voice it holds, and when its audio began. audio_sha256
-- tells a retry of the same bytes (200, the existing chunk) from different bytes under that number (409).
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS sequence integer CHECK (sequence >= 0);
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS speaker text CHECK (speaker ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$');
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS started_at timestamptz;
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS audio_sha256 text;
CREATE UNIQUE INDEX IF NOT EXISTS audio_chunks_session_sequence_idx ON audio_chunks (session_id, sequence)
  WHERE sequence IS NOT NULL;
