import { transcribeChunk } from '../core/transcripts/transcribe-chunk';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['process-chunk'],
  message: 'Transcript generated successfully',
  run: ({ params, query }, deps) => transcribeChunk(deps, { chunkId: params.chunk_id, sessionId: query.session_id }),
});
