-- Full-text search over transcripts: the transcription core writes the text in the statement that marks
-- the chunk done; PostgreSQL keeps the English tsvector from it and GET /search/transcripts reads the GIN index.
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS transcript_text text;
ALTER TABLE audio_chunks ADD COLUMN IF NOT EXISTS transcript_tsv tsvector
  GENERATED ALWAYS AS (to_tsvector('english', coalesce(transcript_text, ''))) STORED;
CREATE INDEX IF NOT EXISTS audio_chunks_transcript_tsv_idx ON audio_chunks USING gin (transcript_tsv);
