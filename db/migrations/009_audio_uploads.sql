-- A direct upload between its URL and its object's arrival (functions/core/audio-uploads.ts). It is not a
-- chunk yet: audio_chunks gets the row, under the chunk_id reserved here, only once the object has
-- arrived and been probed, so no chunk ever waits for audio that may never come. A row whose URL expired
-- (plus a grace for a PUT started just before) without its object is removed by the scheduled sweep.
CREATE TABLE IF NOT EXISTS audio_uploads (
  chunk_id     bigint PRIMARY KEY,
  session_id   text NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  content_type text NOT NULL,
  audio_key    text NOT NULL UNIQUE,
  size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
  sequence     integer CHECK (sequence >= 0),
  speaker      text CHECK (speaker ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  started_at   timestamptz,
  expires_at   timestamptz NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS audio_uploads_session_sequence_idx ON audio_uploads (session_id, sequence)
  WHERE sequence IS NOT NULL;
CREATE INDEX IF NOT EXISTS audio_uploads_expires_idx ON audio_uploads (expires_at);
