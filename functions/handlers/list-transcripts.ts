import { listTranscriptFiles, type SessionTranscripts } from '../core/transcripts/transcript-files';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['list-transcripts'],
  message: (result: SessionTranscripts) => `Found ${result.total_count} transcript files`,
  run: ({ params }, deps) => listTranscriptFiles(deps, params.session_id),
});
