import { expect } from 'vitest';

/** A small HTTP client for tests: real requests, with the envelope parsed when the body is JSON. */
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  json: T;
}

export const request = async <T = any>(
  baseUrl: string,
  method: string,
  path: string,
  init: { json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> => {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = JSON.stringify(init.json);
  }
  return readResponse<T>(await fetch(`${baseUrl}${path}`, { method, headers, body }));
};

/** The response with its body as text and, when it is JSON, parsed. */
export const readResponse = async <T = any>(response: Response): Promise<ApiResponse<T>> => {
  const text = await response.text();
  let json: T = undefined as T;
  try {
    json = JSON.parse(text) as T;
  } catch {
    // left undefined: the assertion on `json` will say so
  }
  return { status: response.status, headers: response.headers, text, json };
};

/** Asserts nothing by itself: returns the parts every error test checks. */
export const errorShape = (response: ApiResponse) => ({
  status: response.status,
  success: response.json?.success,
  hasMessage: typeof response.json?.message === 'string' && response.json.message.length > 0,
  hasError: typeof response.json?.error === 'string' && response.json.error.length > 0,
});

/** Text that must never reach a caller: stack frames, SQL, server paths. */
export const LEAK_PATTERNS = [
  /\bat .+\(.+:\d+:\d+\)/,
  /node_modules/,
  /\/work\//,
  /\/tmp\//,
  /\bSELECT\b.+\bFROM\b|\bINSERT INTO\b|\bDELETE FROM\b|\bUPDATE \w+ SET\b/i,
  /Error: /,
];

/** A refusal as every route must answer it: the error envelope, its three keys only, and nothing leaked. */
export const expectRefusal = (response: ApiResponse, status: number) => {
  expect(errorShape(response)).toEqual({ status, success: false, hasMessage: true, hasError: true });
  expect(Object.keys(response.json).sort()).toEqual(['error', 'message', 'success']);
  for (const leak of LEAK_PATTERNS) expect(response.text).not.toMatch(leak);
};
