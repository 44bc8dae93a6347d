-- The change log also names the row (issue 16's storage bound): a snapshot rewrites only the pieces whose
-- key ranges hold a changed row, and appends new rows, instead of rewriting each changed segment whole.
-- Changes logged before this migration have no key: their segments are still read whole.
ALTER TABLE snapshot_changes ADD COLUMN IF NOT EXISTS row_key text;
-- The key of a row (as JSON) of a snapshot table, as text. Must match SNAPSHOT_TABLES in
-- functions/core/snapshots/snapshot-tables.ts.
CREATE OR REPLACE FUNCTION snapshot_row_key(section text, row_json jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN section = 'sessions' THEN row_json ->> 'session_id'
              WHEN section = 'audio_chunks' THEN row_json ->> 'chunk_id'
              ELSE row_json ->> 'id' END
$$;
-- Body on few lines, as the migration runner splits statements at a semicolon ending a line. An update
-- that moved a row to another segment marks both.
CREATE OR REPLACE FUNCTION record_snapshot_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE old_json jsonb; new_json jsonb; BEGIN
  IF TG_OP <> 'INSERT' THEN old_json := to_jsonb(OLD); END IF; IF TG_OP <> 'DELETE' THEN new_json := to_jsonb(NEW); END IF
  ; INSERT INTO snapshot_changes (section, segment, row_key) SELECT DISTINCT TG_TABLE_NAME, snapshot_segment(TG_TABLE_NAME, j), snapshot_row_key(TG_TABLE_NAME, j) FROM unnest(ARRAY[old_json, new_json]) AS j WHERE j IS NOT NULL; RETURN NULL; END
$$;
