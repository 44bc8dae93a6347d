/**
 * Builds a Lambda handler for one API route: middy with the Powertools logger, request parsing and
 * zod validation, one call into core, and the seed's envelope on success and on every error.
 */
import middy, { type MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { dependencies } from '../config';
import type { Dependencies } from '../core/dependencies';
import { invalidInput, tooLarge, unsupportedMediaType } from '../core/errors';
import { trackInvocationDeadline } from '../invocation';
import { logger } from '../logger';
import { emitMetrics, recordApiOutcome } from '../observability';
import { routeId, routes } from '../routes';
import { traceInvocation } from '../tracing';
import * as z from '../validation';
import { errorResponse, successResponse } from './envelope';
import { formatZodError, toPublicError } from './error-mapping';

/** JSON bodies are small documents; audio has its own limit in core. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export interface RawBody {
  bytes: Uint8Array;
  contentType: string | undefined;
}

type BodySpec = z.ZodMiniType | 'raw' | undefined;
type BodyOf<B extends BodySpec> = B extends z.ZodMiniType ? z.output<B> : B extends 'raw' ? RawBody : undefined;

export interface RouteSpec<P extends z.ZodMiniType, Q extends z.ZodMiniType, B extends BodySpec, R> {
  params?: P;
  query?: Q;
  body?: B;
  /** Status on success; 200 unless given. A function when it depends on the outcome (a retry answers 200, not 201). */
  status?: number | ((result: R) => number);
  message: string | ((result: R) => string);
  /** `invocation`: the Lambda context, for work that must fit the time it has left. */
  run(request: { params: z.output<P>; query: z.output<Q>; body: BodyOf<B> }, deps: Dependencies, invocation: Context): Promise<R>;
}

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

const emptyObject = z.object({});

/**
 * Puts the invocation's Lambda context (request id, function, cold start) on every log line. Not
 * Powertools' injectLambdaContext: it also re-reads per-request settings that API routes do not use.
 */
const logWithLambdaContext: MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> = {
  before: ({ context }) => {
    logger.addContext(context);
  },
};

/** The handler module that serves an API Gateway route key ('GET /sessions/{session_id}'), for its metrics. */
const handlerByRouteKey = new Map<string, string>(routes.map((route) => [routeId(route), route.handler]));

const validate = <S extends z.ZodMiniType>(schema: S, value: unknown, where: string): z.output<S> => {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput('Invalid request', formatZodError(parsed.error, where));
  return parsed.data;
};

const headerOf = (event: APIGatewayProxyEventV2, name: string): string | undefined =>
  event.headers?.[name] ?? Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name)?.[1];

const bodyBytes = (event: APIGatewayProxyEventV2): Buffer =>
  event.body === undefined || event.body === null ? Buffer.alloc(0) : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');

const parseJsonBody = (event: APIGatewayProxyEventV2): unknown => {
  const bytes = bodyBytes(event);
  if (bytes.length === 0) return undefined;
  if (bytes.length > MAX_JSON_BODY_BYTES)
    throw tooLarge('Request body too large', `JSON bodies are limited to ${MAX_JSON_BODY_BYTES} bytes`);
  const contentType = headerOf(event, 'content-type');
  if (contentType && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(contentType)) {
    throw unsupportedMediaType('Unsupported media type', 'Send the body as application/json');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidInput('Invalid request', 'The body is not valid JSON');
  }
  checkStorable(parsed);
  return parsed;
};

/** Deepest nesting a JSON body may have; JSON.stringify recurses, so deeper free-form metadata would overflow the stack. */
export const MAX_JSON_DEPTH = 64;

/** NUL, and a surrogate without its pair, which jsonb refuses (text would silently turn it into U+FFFD). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the character PostgreSQL cannot store.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const storableText = (text: string): boolean => !UNSTORABLE.test(text);
const UNSTORABLE_TEXT = '{what} in the body must be valid Unicode without the NUL character (U+0000)';

/** Refuses what no handler can store: nesting past MAX_JSON_DEPTH, and NUL or unpaired surrogates in any string or key (PostgreSQL cannot hold them). */
const checkStorable = (root: unknown): void => {
  const pending: [unknown, number][] = [[root, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value === 'string') {
      if (!storableText(value)) throw invalidInput('Invalid request', UNSTORABLE_TEXT.replace('{what}', 'Strings'));
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) throw invalidInput('Invalid request', `The body must not nest deeper than ${MAX_JSON_DEPTH} levels`);
    for (const [key, child] of Object.entries(value)) {
      if (!storableText(key)) throw invalidInput('Invalid request', UNSTORABLE_TEXT.replace('{what}', 'Keys'));
      pending.push([child, depth + 1]);
    }
  }
};

/** Milliseconds since API Gateway received the request (its timeEpoch); 0 without one. */
const elapsedSince = (event: APIGatewayProxyEventV2): number => {
  const received = event.requestContext?.timeEpoch;
  return typeof received === 'number' ? Math.max(0, Date.now() - received) : 0;
};

export const apiHandler = <
  P extends z.ZodMiniType = typeof emptyObject,
  Q extends z.ZodMiniType = typeof emptyObject,
  B extends BodySpec = undefined,
  R = unknown,
>(
  spec: RouteSpec<P, Q, B, R>,
): ApiHandler => {
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(traceInvocation())
    .use(trackInvocationDeadline())
    .use(logWithLambdaContext)
    // Flushes last: after the error below has been turned into an answer and recorded.
    .use(emitMetrics())
    .use({
      onError: async (request) => {
        const failure = toPublicError(request.error);
        recordApiOutcome(
          handlerByRouteKey.get(request.event.routeKey),
          { ok: false, serverSide: failure.serverSide },
          elapsedSince(request.event),
        );
        if (failure.serverSide) logger.error('Request failed', { error: request.error, status: failure.statusCode });
        else logger.info('Request refused', { status: failure.statusCode, reason: failure.error });
        request.response = errorResponse(failure.statusCode, failure.message, failure.error, failure.retryAfterSeconds);
      },
    })
    .handler(async (event, context) => {
      // A route without a schema takes no parameters: whatever arrives is dropped, as an empty object schema would.
      const params = (spec.params ? validate(spec.params, event.pathParameters ?? {}, 'path') : {}) as z.output<P>;
      const query = (spec.query ? validate(spec.query, event.queryStringParameters ?? {}, 'query') : {}) as z.output<Q>;
      const body = (
        spec.body === 'raw'
          ? { bytes: bodyBytes(event), contentType: headerOf(event, 'content-type') }
          : spec.body
            ? validate(spec.body, parseJsonBody(event) ?? {}, 'body')
            : undefined
      ) as BodyOf<B>;
      const result = await spec.run({ params, query, body }, await dependencies(), context);
      recordApiOutcome(handlerByRouteKey.get(event.routeKey), { ok: true, result }, elapsedSince(event));
      const message = typeof spec.message === 'function' ? spec.message(result) : spec.message;
      const status = typeof spec.status === 'function' ? spec.status(result) : (spec.status ?? 200);
      return successResponse(status, message, result);
    });
  return handler as unknown as ApiHandler;
};
