import { type RenderedTranscript, type SessionTranscript, sessionTranscript } from '../core/transcripts/session-transcript';
import { apiHandler } from '../http/api-handler';
import { requestSchemas } from '../http/request-schemas';
import { type TextResult, textResult, withTextResults } from '../http/text-response';

const isRendered = (result: SessionTranscript | RenderedTranscript): result is RenderedTranscript => 'contentType' in result;

export const handler = withTextResults(
  apiHandler({
    ...requestSchemas['get-session-transcript'],
    message: (result: SessionTranscript | TextResult) =>
      'text_result' in result
        ? 'Transcript'
        : `Transcript of ${result.chunks.length} chunks: ${result.segments.length} segments, ${result.gaps.length} gaps`,
    run: async ({ params, query }, deps) => {
      const result = await sessionTranscript(deps, {
        sessionId: params.session_id,
        format: query.format,
        fromChunk: query.from_chunk,
        toChunk: query.to_chunk,
      });
      return isRendered(result) ? textResult(result.contentType, result.body) : result;
    },
  }),
);
