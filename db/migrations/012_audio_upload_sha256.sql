-- The SHA-256 (hex) a direct-upload request gave for its bytes, if any (functions/core/audio-uploads.ts):
-- the presigned PUT signs it, so the store refuses other bytes, and the arrival copies it to
-- audio_chunks.audio_sha256 instead of reading the object again to hash it.
ALTER TABLE audio_uploads ADD COLUMN IF NOT EXISTS audio_sha256 text CHECK (audio_sha256 ~ '^[0-9a-f]{64}$');
