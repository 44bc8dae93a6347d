CREATE TABLE IF NOT EXISTS code_history (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id  text NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  code        text NOT NULL,
  language    text NOT NULL,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS code_history_session_idx ON code_history (session_id, id);
