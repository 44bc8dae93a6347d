-- A transcription run holds its chunk under a lease that ends at the run's own deadline, so a row never
-- claims 'processing' after the run that set it has timed out or died; a retry may take an expired lease.
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS transcript_lease_expires_at timestamptz;
-- Counts the runs that claimed the chunk; the count a run claimed with guards its later status writes.
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS transcript_attempts integer NOT NULL DEFAULT 0;
-- Rows left 'processing' by runs before this migration: no run lives longer than Lambda's 15 minutes.
UPDATE audio_chunks
SET transcript_lease_expires_at = coalesce(transcript_updated_at, created_at) + interval '15 minutes'
WHERE transcript_status = 'processing' AND transcript_lease_expires_at IS NULL;
ALTER TABLE audio_chunks ADD CONSTRAINT audio_chunks_processing_has_lease
  CHECK (transcript_status <> 'processing' OR transcript_lease_expires_at IS NOT NULL);
-- Finds the chunks a restart resumes (pending, or processing under a lease) without a full scan.
CREATE INDEX IF NOT EXISTS audio_chunks_unfinished_idx ON audio_chunks (chunk_id)
  WHERE transcript_status IN ('pending', 'processing');
