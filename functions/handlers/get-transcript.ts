import { getTranscriptFile } from '../core/transcripts/transcript-files';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['get-transcript'],
  message: 'Transcript file found',
  run: ({ params }, deps) => getTranscriptFile(deps, params.session_id, params.chunk_id),
});
