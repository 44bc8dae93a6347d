/**
 * A route that may answer in a text format (a transcript as txt, SubRip or WebVTT) rather than JSON:
 * its result carries the text under TEXT_RESULT and this wrapper sends it as is, with its own content
 * type. Errors and JSON results keep the envelope apiHandler gives them.
 */
import type { ApiHandler } from './api-handler';

export const TEXT_RESULT = 'text_result';

export interface TextResult {
  [TEXT_RESULT]: { contentType: string; body: string };
}

export const textResult = (contentType: string, body: string): TextResult => ({ [TEXT_RESULT]: { contentType, body } });

export const withTextResults =
  (handler: ApiHandler): ApiHandler =>
  async (event, context) => {
    const response = await handler(event, context);
    if (response.statusCode !== 200 || typeof response.body !== 'string' || !response.body.includes(`"${TEXT_RESULT}"`)) return response;
    const text = (JSON.parse(response.body) as { data?: Partial<TextResult> }).data?.[TEXT_RESULT];
    if (!text || typeof text.body !== 'string' || typeof text.contentType !== 'string') return response;
    return { statusCode: 200, headers: { 'content-type': text.contentType }, body: text.body };
  };
