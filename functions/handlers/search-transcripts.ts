import { type SearchAnswer, searchTranscripts } from '../core/transcripts/search';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';

export const handler = apiHandler({
  ...requestSchemas['search-transcripts'],
  message: (result: SearchAnswer) => `Found ${result.results.length} matching chunks`,
  run: ({ query }, deps) =>
    searchTranscripts(deps, { q: query.q, sessionId: query.session_id, speaker: query.speaker, limit: query.limit, cursor: query.cursor }),
});
