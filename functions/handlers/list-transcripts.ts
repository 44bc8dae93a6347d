import { listTranscriptFiles, type SessionTranscripts } from '../core/transcripts/transcript-files';
import { apiHandler } from '../http/api-handler';
import { SessionPath } from '../http/schemas';

export const handler = apiHandler({
  params: SessionPath,
  message: (result: SessionTranscripts) => `Found ${result.total_count} transcript files`,
  run: ({ params }, deps) => listTranscriptFiles(deps, params.session_id),
});
