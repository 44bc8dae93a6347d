import { createAudioUpload, type UploadOutcome } from '../core/audio-uploads';
import { apiHandler } from '../http/api-handler';
import { chunkData } from '../http/chunk-data';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['create-audio-upload'],
  status: (result: { outcome: UploadOutcome['outcome'] }) => (result.outcome === 'replayed' ? 200 : 201),
  message: (result: { outcome: UploadOutcome['outcome'] }) =>
    result.outcome === 'replayed'
      ? 'Audio chunk already stored with these bytes; nothing to upload'
      : 'Upload URL issued: PUT the audio to upload_url with these headers before expires_at',
  run: async ({ params, body }, deps) => {
    const result = await createAudioUpload(deps, {
      sessionId: params.session_id,
      contentType: body.content_type,
      sizeBytes: body.size_bytes,
      sha256: body.sha256 ?? null,
      track: { sequence: body.sequence ?? null, speaker: body.speaker ?? null, startedAt: body.started_at ?? null },
    });
    return result.outcome === 'replayed' ? { outcome: result.outcome, ...chunkData(result.chunk) } : result;
  },
});
