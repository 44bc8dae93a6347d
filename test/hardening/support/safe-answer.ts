/**
 * What every answer to any request must look like: a 2xx or 4xx, JSON, in the envelope, with nothing
 * in it that belongs to the server (stack frames, SQL, paths) or to files outside DATA_DIR.
 */
import { expect } from 'vitest';
import { LEAK_PATTERNS } from '../../support/http';
import { SENTINEL_MARKER } from './file-tree';
import type { RawResponse } from './raw-http';

/** Routes that answer with a document for tools rather than the envelope. */
export const UNWRAPPED_ROUTES = new Set(['GET /openapi.json']);

export const describeRequest = (method: string, target: string) => `${method} ${target.length > 160 ? `${target.slice(0, 160)}…` : target}`;

export interface AnswerContext {
  method: string;
  target: string;
  /** The route the request was for, when it matched one. */
  routeId?: string | undefined;
  /** Statuses allowed besides 2xx and 4xx: a fault test allows the 503 that a dependency being down is. */
  alsoAllowed?: readonly number[];
}

export const expectSafeAnswer = (response: RawResponse, context: AnswerContext): void => {
  const where = describeRequest(context.method, context.target);
  const allowed = [2, 4].includes(Math.floor(response.status / 100)) || (context.alsoAllowed ?? []).includes(response.status);
  expect(allowed, `${where} answered ${response.status}: ${response.text.slice(0, 300)}`).toBe(true);
  expect(
    String(response.headers['content-type']),
    `${where} answered ${response.status} ${JSON.stringify(response.headers)}: ${response.text.slice(0, 300)}`,
  ).toMatch(/^application\/json/);
  expect(response.text, where).not.toContain(SENTINEL_MARKER);
  if (response.status < 300 && context.routeId && UNWRAPPED_ROUTES.has(context.routeId)) {
    expect(response.json?.openapi, where).toBe('3.1.0');
    return;
  }
  const body = response.json as Record<string, unknown> | undefined;
  expect(body, `${where}: the body is not JSON: ${response.text.slice(0, 200)}`).toBeTypeOf('object');
  const ok = response.status < 400;
  expect(Object.keys(body!).sort(), where).toEqual(ok ? ['data', 'message', 'success'] : ['error', 'message', 'success']);
  expect(body!.success, where).toBe(ok);
  expect(body!.message, where).toBeTypeOf('string');
  if (!ok) {
    expect(body!.error, where).toBeTypeOf('string');
    // Successful answers echo what callers stored (code, metadata), so only errors are held to this.
    for (const leak of LEAK_PATTERNS) expect(response.text, `${where} leaks ${leak}`).not.toMatch(leak);
  }
};
