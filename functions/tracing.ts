/**
 * X-Ray tracing (Powertools Tracer): a segment per invocation with the cold start and errors, and a
 * subsegment per AWS SDK call (Data API, S3, Transcribe, Secrets Manager) for clients passed through
 * `traced`. The stack turns on active tracing for every function (lib/service-function.ts). Outside
 * Lambda (npm start, tests) the Tracer turns itself off, so nothing here costs anything locally.
 * API Gateway HTTP APIs have no X-Ray integration: a trace starts at the function.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';
import { METRICS_SERVICE } from './metric-names';

export const tracer = new Tracer({ serviceName: METRICS_SERVICE });

/**
 * middy: the invocation's segment; responses are not recorded (they can carry candidate data). A failure
 * an API handler already answered with a 4xx is the caller's, so its segment closes as a success rather
 * than a fault; a 5xx, or an event handler's throw, is recorded as the fault it is.
 */
export const traceInvocation = <E, R>(): MiddlewareObj<E, R> => {
  const capture = captureLambdaHandler(tracer, { captureResponse: false }) as Required<MiddlewareObj>;
  return {
    before: capture.before,
    after: capture.after,
    onError: (request: Parameters<typeof capture.onError>[0]) => {
      const status = (request.response as { statusCode?: unknown } | undefined)?.statusCode;
      return typeof status === 'number' && status < 500 ? capture.after(request) : capture.onError(request);
    },
  } as unknown as MiddlewareObj<E, R>;
};

/** An AWS SDK v3 client whose calls appear as subsegments. */
export const traced = <Client>(client: Client): Client => tracer.captureAWSv3Client(client);
