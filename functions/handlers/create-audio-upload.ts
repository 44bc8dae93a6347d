import { createAudioUpload } from '../core/audio-uploads';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['create-audio-upload'],
  message: 'Upload URL issued: PUT the audio to upload_url with these headers before expires_at',
  run: ({ params, body }, deps) =>
    createAudioUpload(deps, {
      sessionId: params.session_id,
      contentType: body.content_type,
      sizeBytes: body.size_bytes,
      track: { sequence: body.sequence ?? null, speaker: body.speaker ?? null, startedAt: body.started_at ?? null },
    }),
});
