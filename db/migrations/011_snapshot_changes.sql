-- Snapshots read only what changed (docs/snapshots.md). Every insert, update and delete on the four
-- snapshot tables leaves its key here, stamped with the writing transaction's id: the next snapshot
-- reads the keys of the transactions its predecessor's database snapshot could not see.
CREATE TABLE IF NOT EXISTS snapshot_changes (
  txid    xid8 NOT NULL DEFAULT pg_current_xact_id(),
  section text NOT NULL,
  row_key text NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshot_changes_txid_idx ON snapshot_changes (txid);
-- Changes of transactions below pruned_below are gone: a snapshot based on an older one reads every segment.
CREATE TABLE IF NOT EXISTS snapshot_change_horizon (
  only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  pruned_below xid8 NOT NULL
);
-- One line of body, as the migration runner splits statements at a semicolon ending a line.
CREATE OR REPLACE FUNCTION record_snapshot_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO snapshot_changes (section, row_key)
  VALUES (TG_TABLE_NAME, to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) ->> TG_ARGV[0]); RETURN NULL; END
$$;
CREATE TRIGGER sessions_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON sessions
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change('session_id');
CREATE TRIGGER audio_chunks_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON audio_chunks
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change('chunk_id');
CREATE TRIGGER code_history_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON code_history
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change('id');
CREATE TRIGGER execution_results_snapshot_change AFTER INSERT OR UPDATE OR DELETE ON execution_results
  FOR EACH ROW EXECUTE FUNCTION record_snapshot_change('id');
-- Sessions are segmented by a hash of their id (functions/core/snapshots/segments.ts); this reads one segment.
CREATE INDEX IF NOT EXISTS sessions_snapshot_segment_idx ON sessions ((get_byte(decode(md5(session_id), 'hex'), 0) & 63), session_id);
