import { ingestAudioChunk } from '../core/audio-chunks';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['upload-audio-chunk'],
  message: 'Audio chunk stored',
  run: async ({ params, body }, deps) => {
    const chunk = await ingestAudioChunk(deps, { sessionId: params.session_id, contentType: body.contentType, bytes: body.bytes });
    return {
      chunk_id: chunk.chunk_id,
      session_id: chunk.session_id,
      content_type: chunk.content_type,
      duration: chunk.duration,
      size_bytes: chunk.size_bytes,
      transcript_status: chunk.transcript_status,
      created_at: chunk.created_at,
    };
  },
});
