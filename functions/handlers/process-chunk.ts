import * as z from '../validation';
import { ChunkId, SessionId } from '../core/identifiers';
import { transcribeChunk } from '../core/transcripts/transcribe-chunk';
import { apiHandler } from '../http/api-handler';

export const ProcessChunkPath = z.object({ chunk_id: ChunkId });
/** Without session_id the chunk's own row names the session. */
export const ProcessChunkQuery = z.object({ session_id: z.optional(SessionId) });

export const handler = apiHandler({
  params: ProcessChunkPath,
  query: ProcessChunkQuery,
  message: 'Transcript generated successfully',
  run: ({ params, query }, deps) => transcribeChunk(deps, { chunkId: params.chunk_id, sessionId: query.session_id }),
});
