/**
 * aws-chunked bodies (Content-Encoding: aws-chunked): what the AWS SDK sends when it streams a body with
 * a trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER, the default since 2025) or signs each chunk
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD). S3 stores the decoded bytes; s3rver would store the framing, so
 * the proxy decodes first. Chunk signatures are not checked (the seed signature is).
 */
import { crc32 } from 'node:zlib';

export interface DecodedChunked {
  body: Buffer;
  /** Trailing headers, lower-cased: x-amz-checksum-crc32 and the like. */
  trailers: Record<string, string>;
}

export class ChunkedFormatError extends Error {}

export const isAwsChunked = (headers: Record<string, string | string[] | undefined>) => {
  const encoding = String(headers['content-encoding'] ?? '').toLowerCase();
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  return encoding.split(',').some((e) => e.trim() === 'aws-chunked') || sha.startsWith('STREAMING-');
};

export const decodeAwsChunked = (raw: Buffer): DecodedChunked => {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let at = 0;
  const line = () => {
    const end = raw.indexOf('\r\n', at);
    if (end < 0) throw new ChunkedFormatError('unterminated chunk header');
    const text = raw.subarray(at, end).toString('latin1');
    at = end + 2;
    return text;
  };
  for (;;) {
    const header = line();
    const size = Number.parseInt(header.split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new ChunkedFormatError(`bad chunk size ${JSON.stringify(header)}`);
    if (size === 0) break;
    if (at + size + 2 > raw.length) throw new ChunkedFormatError('chunk longer than the body');
    parts.push(raw.subarray(at, at + size));
    at += size;
    if (raw.subarray(at, at + 2).toString('latin1') !== '\r\n') throw new ChunkedFormatError('chunk not followed by CRLF');
    at += 2;
  }
  while (at < raw.length) {
    const trailer = line();
    if (trailer === '') break;
    const colon = trailer.indexOf(':');
    if (colon > 0) trailers[trailer.slice(0, colon).trim().toLowerCase()] = trailer.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
};

/** base64 of the big-endian CRC32, as x-amz-checksum-crc32 carries it. */
export const crc32Base64 = (body: Uint8Array) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(body) >>> 0);
  return out.toString('base64');
};
