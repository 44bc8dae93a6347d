CREATE TABLE IF NOT EXISTS sessions (
  session_id  text PRIMARY KEY CHECK (session_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$'),
  candidate   text,
  interviewer text,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
