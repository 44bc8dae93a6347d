import { transcribeChunk } from '../core/transcripts/transcribe-chunk';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';
import { routes, timeoutSecondsOf } from '../routes';

/** The route's timeout (Lambda's on AWS, the gateway's locally): the run streams audio and holds its lease until then. */
const TIMEOUT_MS = timeoutSecondsOf(routes.find((route) => route.handler === 'process-chunk')!) * 1000;

export const handler = apiHandler({
  ...requestSchemas['process-chunk'],
  message: 'Transcript generated successfully',
  run: ({ params, query }, deps) =>
    transcribeChunk(deps, { chunkId: params.chunk_id, sessionId: query.session_id, deadline: Date.now() + TIMEOUT_MS }),
});
