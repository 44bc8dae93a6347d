-- The request id of the run holding the lease. Lambda retries an asynchronous event under the same id, so
-- a retry may take over the lease its own earlier attempt held when that attempt died before the lease ended.
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS transcript_lease_run text;
