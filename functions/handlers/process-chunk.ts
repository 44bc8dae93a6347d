import { isBatchHandOff, type ProcessedChunk, processChunk } from '../core/transcripts/process-chunk';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';
import { routes, timeoutSecondsOf } from '../routes';

/** The route's timeout (Lambda's on AWS, the gateway's locally): the run streams audio and holds its lease until then. */
const TIMEOUT_MS = timeoutSecondsOf(routes.find((route) => route.handler === 'process-chunk')!) * 1000;

export const handler = apiHandler({
  ...requestSchemas['process-chunk'],
  status: (result: ProcessedChunk) => (isBatchHandOff(result) ? 202 : 200),
  message: (result: ProcessedChunk) =>
    isBatchHandOff(result) ? 'Transcription started: a batch job transcribes this chunk' : 'Transcript generated successfully',
  run: ({ params, query }, deps) =>
    processChunk(deps, { chunkId: params.chunk_id, sessionId: query.session_id, deadline: Date.now() + TIMEOUT_MS }),
});
