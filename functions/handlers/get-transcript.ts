import * as z from '../validation';
import { ChunkId, SessionId } from '../core/identifiers';
import { getTranscriptFile } from '../core/transcripts/transcript-files';
import { apiHandler } from '../http/api-handler';

export const TranscriptPath = z.object({ session_id: SessionId, chunk_id: ChunkId });

export const handler = apiHandler({
  params: TranscriptPath,
  message: 'Transcript file found',
  run: ({ params }, deps) => getTranscriptFile(deps, params.session_id, params.chunk_id),
});
