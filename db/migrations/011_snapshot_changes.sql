-- Snapshots read only what changed (docs/snapshots.md). Every insert, update and delete on the four
-- snapshot tables leaves the segment of its row here, stamped with the writing transaction's id: the next
-- snapshot reads the segments of the transactions its predecessor's database snapshot could not see.
CREATE TABLE IF NOT EXISTS snapshot_changes (
  txid    xid8 NOT NULL DEFAULT pg_current_xact_id(),
  section text NOT NULL,
  segment bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshot_changes_txid_idx ON snapshot_changes (txid);
-- Changes of transactions below pruned_below are gone: a snapshot based on an older one reads every segment.
CREATE TABLE IF NOT EXISTS snapshot_change_horizon (
  only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  pruned_below xid8 NOT NULL
);
-- The segment of a row (as JSON): sessions by the UTC day they were created, the other tables by ranges of
-- 4096 ids. Must match segmentOfRow in functions/core/snapshots/snapshot-tables.ts.
CREATE OR REPLACE FUNCTION snapshot_segment(section text, row_json jsonb) RETURNS bigint LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN section = 'sessions' THEN CAST(floor(extract(epoch FROM CAST(row_json ->> 'created_at' AS timestamptz)) / 86400) AS bigint)
              WHEN section = 'audio_chunks' THEN CAST(row_json ->> 'chunk_id' AS bigint) / 4096
              ELSE CAST(row_json ->> 'id' AS bigint) / 4096 END
$$;
-- Body on few lines, as the migration runner splits statements at a semicolon ending a line. An update
-- that moved a row to another segment marks both.
CREATE OR REPLACE FUNCTION record_snapshot_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE old_segment bigint; new_segment bigint; BEGIN
  IF TG_OP <> 'INSERT' THEN old_segment := snapshot_segment(TG_TABLE_NAME, to_jsonb(OLD)); END IF; IF TG_OP <> 'DELETE' THEN new_segment := snapshot_segment(TG_TABLE_NAME, to_jsonb(NEW)); END IF
  ; INSERT INTO snapshot_changes (section, segment) SELECT DISTINCT TG_TABLE_NAME, s FROM unnest(ARRAY[old_segment, new_segment]) AS s WHERE s IS NOT NULL; RETURN NULL; END
$$;
CREATE TRIGGER sessions_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change();
CREATE TRIGGER audio_chunks_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON audio_chunks
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change();
CREATE TRIGGER code_history_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON code_history
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change();
CREATE TRIGGER execution_results_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON execution_results
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change();
-- Reads one day's sessions (a segment).
CREATE INDEX IF NOT EXISTS sessions_created_at_idx ON sessions (created_at);
