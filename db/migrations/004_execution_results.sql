CREATE TABLE IF NOT EXISTS execution_results (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id       text NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
  code_history_id  bigint REFERENCES code_history (id) ON DELETE SET NULL,
  stdout           text NOT NULL DEFAULT '',
  stderr           text NOT NULL DEFAULT '',
  exit_code        integer NOT NULL,
  duration_ms      double precision,
  metadata         jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS execution_results_session_idx ON execution_results (session_id, id);
