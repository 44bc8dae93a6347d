/**
 * An HTTP client that sends the request target exactly as given. fetch() and URL resolve "." and ".."
 * segments and re-encode the path before anything leaves the process, which would hide exactly the
 * traversal attempts a hostile caller sends; node:http writes the path as is.
 */
import { request as httpRequest } from 'node:http';

export interface RawRequest {
  method: string;
  /** The request target: path and query, sent byte for byte (latin1). */
  target: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** node:http refuses control characters, spaces and anything past latin1 in a path: percent-encode just those. */
export const wireSafe = (target: string): string => target.replace(/[^\u0021-\u00ff]/gu, (character) => encodeURIComponent(character));

export const sendRaw = (baseUrl: string, raw: RawRequest, timeoutMs = 30_000): Promise<RawResponse> => {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: raw.method,
        path: wireSafe(raw.target),
        headers: { ...raw.headers, 'content-length': String(raw.body?.length ?? 0) },
        // A fresh connection each time: a request the server stops reading must not poison the next.
        agent: false,
      },
      (response) => {
        const pieces: Buffer[] = [];
        response.on('data', (piece: Buffer) => pieces.push(piece));
        response.on('end', () => {
          const text = Buffer.concat(pieces).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, text, json });
        });
        response.on('error', reject);
      },
    );
    outgoing.setTimeout(timeoutMs, () =>
      outgoing.destroy(new Error(`no answer within ${timeoutMs} ms: ${raw.method} ${raw.target.slice(0, 200)}`)),
    );
    outgoing.on('error', reject);
    outgoing.end(raw.body);
  });
};
