/**
 * The local stand-in for S3 serving a presigned GET (the directory store's presignGet): the gateway hands
 * requests under SIGNED_DOWNLOAD_PATH here. A refusal is answered in the envelope.
 */
import type { IncomingMessage } from 'node:http';
import type { DirectoryObjectStore } from '../adapters/object-store/directory';
import { errorResponse } from '../http/envelope';
import { toPublicError } from '../http/error-mapping';
import { logger } from '../logger';
import { fromApiGatewayResult, type HttpReply } from './api-gateway-event';

export const serveSignedDownload = async (store: DirectoryObjectStore, request: IncomingMessage, url: URL): Promise<HttpReply> => {
  request.resume();
  if (request.method !== 'GET') return fromApiGatewayResult(errorResponse(405, 'Method not allowed', 'Download URLs take GET only'));
  try {
    const outcome = await store.readSignedDownload({ path: url.pathname, query: url.searchParams });
    if ('status' in outcome) return fromApiGatewayResult(errorResponse(outcome.status, outcome.message, outcome.error));
    return {
      statusCode: 200,
      headers: {
        'content-type': outcome.contentType ?? 'application/octet-stream',
        ...(outcome.contentEncoding ? { 'content-encoding': outcome.contentEncoding } : {}),
      },
      body: Buffer.from(outcome.body),
    };
  } catch (error) {
    const answer = toPublicError(error);
    if (answer.serverSide) logger.error('Signed download failed', { error });
    return fromApiGatewayResult(errorResponse(answer.statusCode, answer.message, answer.error));
  }
};
