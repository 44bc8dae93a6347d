import { type IngestResult, receiveAudioChunk } from '../core/audio-chunks';
import { apiHandler } from '../http/api-handler';
import { chunkData } from '../http/chunk-data';
import { requestSchemas } from '../http/request-schemas';

const STATUS = { created: 201, replayed: 200, 'track-header': 202 } as const;
const MESSAGE = {
  created: 'Audio chunk stored',
  replayed: 'Audio chunk already stored',
  'track-header': 'Track header stored; it holds no audio, the recording continues in the next blobs',
} as const;

export const handler = apiHandler({
  ...requestSchemas['upload-audio-chunk'],
  status: (result: { outcome: IngestResult['outcome'] }) => STATUS[result.outcome],
  message: (result: { outcome: IngestResult['outcome'] }) => MESSAGE[result.outcome],
  run: async ({ params, query, body }, deps) => {
    const result = await receiveAudioChunk(deps, {
      sessionId: params.session_id,
      contentType: body.contentType,
      bytes: body.bytes,
      track: { sequence: query.sequence ?? null, speaker: query.speaker ?? null, startedAt: query.started_at ?? null },
    });
    if (result.outcome === 'track-header') {
      const { sessionId, contentType, track } = result;
      return {
        outcome: result.outcome,
        chunk_id: null,
        session_id: sessionId,
        content_type: contentType,
        sequence: track.sequence,
        speaker: track.speaker,
      };
    }
    return { outcome: result.outcome, ...chunkData(result.chunk) };
  },
});
