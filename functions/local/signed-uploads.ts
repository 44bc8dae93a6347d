/**
 * The local stand-in for S3 taking a presigned PUT: the gateway hands requests under SIGNED_UPLOAD_PATH
 * here, before reading any body, so an upload of hundreds of megabytes streams to disk instead of
 * through a Lambda event. A refused upload is answered in the envelope without its body being stored.
 */
import type { IncomingMessage } from 'node:http';
import type { DirectoryObjectStore } from '../adapters/object-store/directory';
import { CHECKSUM_SHA256_HEADER } from '../core/ports/object-store';
import { errorResponse } from '../http/envelope';
import { toPublicError } from '../http/error-mapping';
import { logger } from '../logger';
import { fromApiGatewayResult, type HttpReply } from './api-gateway-event';

const header = (request: IncomingMessage, name: string): string | undefined => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

export const serveSignedUpload = async (store: DirectoryObjectStore, request: IncomingMessage, url: URL): Promise<HttpReply> => {
  if (request.method !== 'PUT') {
    request.resume();
    return fromApiGatewayResult(errorResponse(405, 'Method not allowed', 'Upload URLs take PUT only'));
  }
  try {
    const outcome = await store.acceptSignedUpload({
      path: url.pathname,
      query: url.searchParams,
      contentType: request.headers['content-type'],
      contentLength: request.headers['content-length'],
      checksumSha256: header(request, CHECKSUM_SHA256_HEADER),
      body: request,
    });
    if ('status' in outcome) {
      // The body is discarded as it arrives, so the client can finish sending and read the refusal.
      request.resume();
      return fromApiGatewayResult(errorResponse(outcome.status, outcome.message, outcome.error));
    }
    return { statusCode: 200, headers: {}, body: '' };
  } catch (error) {
    const answer = toPublicError(error);
    if (answer.serverSide) logger.error('Signed upload failed', { error });
    request.resume();
    return fromApiGatewayResult(errorResponse(answer.statusCode, answer.message, answer.error));
  }
};
