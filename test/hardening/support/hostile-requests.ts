/**
 * fast-check generators for hostile requests to one route of the route table: path segments that try
 * to leave their directory or break decoding, query strings, JSON bodies that are broken, mistyped,
 * padded or huge, and audio bytes that are truncated, mislabelled or random. Each generator also mixes
 * in valid values (existing ids, well-formed audio) so requests get past validation into the code below.
 */
import fc from 'fast-check';
import type { RequestSchemas } from '../../../functions/http/request-schemas';
import type { RouteDefinition } from '../../../functions/routes';
import * as z from '../../../functions/validation';
import { encodedSpeech, flacHeader, oggOpusHeader, toneWav } from '../../support/audio-fixtures';

export interface Fixtures {
  sessionId: string;
  chunkId: string;
  snapshotId: string;
  /** The name of the directory beside DATA_DIR that no request may reach. */
  siblingName: string;
}

export interface HostileRequest {
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

const enc = (text: string) => encodeURIComponent(text);

/** Segments written to escape DATA_DIR, confuse decoding or land on the store's own folders. */
const traversalSegments = (siblingName: string): string[] => [
  '..',
  '.',
  '%2e%2e',
  '%2E%2E%2F%2E%2E',
  `..%2F${siblingName}%2Fsecret.txt`,
  `..%2F..%2F${siblingName}%2Fetc%2Fpasswd`,
  `..%2f${siblingName}`,
  `%2F..%2F${siblingName}`,
  '%2F',
  '%2Fetc%2Fpasswd',
  '%00',
  'fixture-session%00',
  'a%00.wav',
  '%252e%252e%252f',
  '%5C..%5C..%5Csecret.txt',
  '..%5C',
  '%',
  '%zz',
  '%E0%A4%A',
  '%C0%AE%C0%AE%2F',
  '%FF%FE',
  'a/..',
  '../..',
  `..//../${siblingName}`,
  '.pglite',
  '.meta',
  '.tmp',
  '~',
  '*',
  ';',
  'a;b=c',
  '%20',
  '+',
  '%0A',
  '%0D%0ASet-Cookie:%20x=1',
  'CON',
  'snapshot_',
  'snapshot_99999999999',
  'snapshot_-000000001',
  'snapshot_9999999999',
  'snapshot_0000000000',
  '-1',
  '0x10',
  '1e3',
  '99999999999999999999',
  '9223372036854775808',
  '999999999999999999',
  enc('１２３'),
  enc('١٢٣'),
  enc('ﬀ'),
  enc('Ａ'),
  enc('İ'),
  'a'.repeat(128),
  'a'.repeat(129),
];

const latin1 = fc.string({
  unit: fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
  minLength: 1,
  maxLength: 8,
});

export const hostileSegment = (fixtures: Fixtures): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...traversalSegments(fixtures.siblingName)) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map(enc) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 40 }).map(enc) },
    // Raw bytes past ASCII, sent unencoded.
    { weight: 1, arbitrary: latin1 },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 6000 }).map((length) => 'x'.repeat(length)) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 2000 }).map((length) => '%2e%2e%2f'.repeat(Math.ceil(length / 9))) },
  );

const validSessionId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/);
const digits = fc.stringMatching(/^[0-9]{1,18}$/);
const snapshotIdShape = fc.integer({ min: 0, max: 9_999_999_999 }).map((seconds) => `snapshot_${String(seconds).padStart(10, '0')}`);

/** A value for one path parameter: the fixture's real id, a well-formed unknown one, or a hostile segment. */
export const pathValue = (name: string, fixtures: Fixtures): fc.Arbitrary<string> => {
  const known: Record<string, [string, fc.Arbitrary<string>]> = {
    session_id: [fixtures.sessionId, validSessionId],
    chunk_id: [fixtures.chunkId, digits],
    snapshot_id: [fixtures.snapshotId, snapshotIdShape],
  };
  const [existing, wellFormed] = known[name] ?? [fixtures.sessionId, validSessionId];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(existing) },
    { weight: 2, arbitrary: wellFormed.map(enc) },
    { weight: 6, arbitrary: hostileSegment(fixtures) },
  );
};

const propertyNames = (schema: z.ZodMiniType | undefined): string[] => {
  if (!schema) return [];
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, unknown> };
  return Object.keys(json.properties ?? {});
};

const queryValue = (fixtures: Fixtures) =>
  fc.oneof(
    fc.constantFrom(
      fixtures.sessionId,
      fixtures.chunkId,
      fixtures.snapshotId,
      '',
      '0',
      '1',
      '-1',
      '1.5',
      '1e309',
      'NaN',
      'Infinity',
      '0x10',
      '1001',
      ' 5 ',
    ),
    hostileSegment(fixtures),
    fc.integer().map(String),
  );

/** A query string (without "?"), built from the route's own parameter names and some it does not know. */
export const hostileQuery = (names: readonly string[], fixtures: Fixtures): fc.Arbitrary<string> => {
  const keys = fc.constantFrom(...names, 'limit', 'cursor', 'session_id', '__proto__', 'constructor', 'toString', 'x', '', '%00');
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    {
      weight: 5,
      arbitrary: fc
        .array(fc.tuple(keys, queryValue(fixtures)), { minLength: 1, maxLength: 4 })
        .map((pairs) => pairs.map(([key, value]) => `${key}=${value}`).join('&')),
    },
    { weight: 2, arbitrary: fc.webQueryParameters() },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'a=%00',
        '%00=1',
        '==',
        '&&&',
        '=',
        'limit=1&limit=2',
        'limit[]=1',
        'limit=%E0%A4%A',
        `cursor=..%2F..%2F${fixtures.siblingName}%2Fsecret`,
        `session_id=..%2F${fixtures.siblingName}`,
        'session_id=a&session_id=b',
        '__proto__[polluted]=1',
        '%',
        '?',
        '#',
      ),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 8000 }).map((length) => `q=${'x'.repeat(length)}`) },
  );
};

const JSON_TYPES = [
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/problem+json',
];
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonx',
  'audio/wav',
  'application/octet-stream',
  '',
];

const contentType = (preferred: readonly string[]) =>
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...preferred) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_TYPES, 'none') });

const BROKEN_JSON = [
  '{',
  '{"a":',
  'nul',
  '[1,2',
  '{"session_id":"x",}',
  "{'a':1}",
  '\u0000',
  'NaN',
  '{"a":1}{"b":2}',
  '\uFEFF{}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '"\\',
  '1e999999',
  '-',
  '{"a":1,"a":2}',
];

/** Strings aimed at the layers under validation: NUL and lone surrogates for the database, paths and markup for everything else. */
const hostileText = fc.oneof(
  fc.constantFrom(
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '../../etc/passwd',
    '%00',
    '\\',
    "'; DROP TABLE sessions; --",
    '<script>',
    '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
    '\u202e',
    ' ',
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 64 }),
);

const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 2, 1e308, -0, null, true, [], {}) },
);

/** Objects nested `depth` deep, for parsers and the database's JSON input. */
const deepObject = (depth: number, leaf: unknown = 1): string => `${'{"a":'.repeat(depth)}${JSON.stringify(leaf)}${'}'.repeat(depth)}`;
const deepArray = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Values shaped like what a property expects, good and bad, so the object passes the first checks. */
const propertyValue = (name: string, fixtures: Fixtures): fc.Arbitrary<unknown> => {
  const byName: Record<string, fc.Arbitrary<unknown>> = {
    session_id: fc.oneof(fc.constant(fixtures.sessionId), validSessionId, hostileText),
    code_history_id: fc.oneof(digits, fc.nat(), fc.constantFrom('-1', '1.5', '99999999999999999999', null)),
    exit_code: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 31, '0')),
    duration_ms: fc.oneof(fc.double(), fc.nat(), fc.constant(null)),
    metadata: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 12 }), jsonish, { maxKeys: 4 }),
      fc.constantFrom(
        { nul: '\u0000' },
        { 'k\u0000': 1 },
        { big: 'x'.repeat(9000) },
        { deep: JSON.parse(deepObject(300)) },
        [1, 2],
        'text',
      ),
    ),
  };
  return fc.oneof({ weight: 3, arbitrary: byName[name] ?? hostileText }, { weight: 1, arbitrary: jsonish });
};

/** JSON bodies for a route that validates one with `schema`. */
export const hostileJsonBody = (schema: z.ZodMiniType, fixtures: Fixtures): fc.Arbitrary<{ text: string | null; contentType: string }> => {
  const names = propertyNames(schema);
  const shaped = fc
    .tuple(
      fc.record(Object.fromEntries(names.map((name) => [name, propertyValue(name, fixtures)])), { requiredKeys: [] }),
      fc.option(fc.dictionary(fc.string({ maxLength: 16 }), jsonish, { maxKeys: 3 }), { nil: undefined }),
    )
    .map(([known, extra]) => JSON.stringify({ ...known, ...extra }));
  const text = fc.oneof(
    { weight: 6, arbitrary: shaped },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.constantFrom(...BROKEN_JSON) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value) ?? 'null') },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 4000 }).map((depth) => deepArray(depth)) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 100_000 }).map((depth) => `{"metadata":${deepObject(depth)}}`) },
    // Just under and over the 1 MiB JSON limit, and over it by far.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(1024 * 1024 - 64, 1024 * 1024 + 1, 3 * 1024 * 1024)
        .map((size) => `{"code":"${'x'.repeat(size)}","language":"py"}`),
    },
  );
  return fc.record({ text, contentType: contentType(JSON_TYPES) });
};

const TONE = toneWav({ seconds: 0.25 });
const STEREO_TONE = toneWav({ seconds: 0.25, channels: 2, sampleRate: 44100 });
const FLOAT_TONE = toneWav({ seconds: 0.25, bitDepth: '32f', sampleRate: 8000 });
const EIGHT_BIT = toneWav({ seconds: 0.25, bitDepth: '8' });
const FLAC = flacHeader(16000, 1, 16000);
const OGG = oggOpusHeader(1, 1);
/** Real browser-format files, cut anywhere below: a truncated header, element or box must be a 400. */
const WEBM = encodedSpeech('webm');
const MP4 = encodedSpeech('mp4');

const AUDIO_TYPES = [
  'audio/wav',
  'audio/wav',
  'audio/x-wav',
  'audio/wave',
  'AUDIO/WAV',
  'audio/wav; codecs=1',
  'audio/flac',
  'audio/ogg',
  'audio/opus',
  'audio/webm;codecs=opus',
  'audio/mp4',
];

/** WAV headers with fields rewritten: sizes, rates, channels and formats that no encoder would write. */
const corruptedWav = fc
  .tuple(
    fc.constantFrom(TONE, STEREO_TONE, FLOAT_TONE),
    fc.array(fc.tuple(fc.integer({ min: 4, max: 43 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
  )
  .map(([wav, edits]) => {
    const copy = Buffer.from(wav);
    for (const [offset, value] of edits) copy[offset] = value;
    return copy;
  });

const fieldRewrittenWav = fc
  .tuple(fc.constantFrom(4, 16, 20, 22, 24, 28, 32, 34, 40), fc.constantFrom(0, 1, 0xffff, 0x7fffffff, 0xffffffff, 44, 100000))
  .map(([offset, value]) => {
    const copy = Buffer.from(TONE);
    if ([20, 22, 32, 34].includes(offset)) copy.writeUInt16LE(value & 0xffff, offset);
    else copy.writeUInt32LE(value >>> 0, offset);
    return copy;
  });

/** Raw audio bodies and the Content-Type sent with them. */
export const hostileAudioBody = (): fc.Arbitrary<{ bytes: Uint8Array; contentType: string }> => {
  const bytes = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom<Uint8Array>(TONE, STEREO_TONE, FLOAT_TONE, EIGHT_BIT) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(TONE, STEREO_TONE, FLAC, OGG, WEBM, MP4), fc.nat())
        .map(([audio, cut]) => audio.subarray(0, cut % audio.length)),
    },
    { weight: 3, arbitrary: corruptedWav },
    { weight: 3, arbitrary: fieldRewrittenWav },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 4096 }) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength: 64 })
        .map((tail) => Buffer.concat([Buffer.from('RIFF\xff\xff\xff\xffWAVEfmt ', 'latin1'), tail])),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 1, max: 8 }), fc.nat({ max: 2 ** 32 }))
        .map(([rate, channels, samples]) => flacHeader(rate, channels, samples)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 255 }), fc.double({ min: 0, max: 1e6, noNaN: true }))
        .map(([channels, seconds]) => oggOpusHeader(channels, seconds)),
    },
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    // Over the 4 MiB audio limit, under the gateway's 10 MiB.
    { weight: 1, arbitrary: fc.constant(Buffer.concat([TONE.subarray(0, 44), Buffer.alloc(4 * 1024 * 1024 + 1)])) },
  );
  return fc.record({ bytes, contentType: contentType(AUDIO_TYPES) });
};

const OTHER_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

const clip = (text: string, length: number) => (text.length > length ? `${text.slice(0, length)}… (${text.length} chars)` : text);

export const describeHostile = (request: HostileRequest): string => {
  const body = request.body ? Buffer.from(request.body) : undefined;
  const preview = body && JSON.stringify(clip(body.subarray(0, 300).toString('latin1'), 200));
  return `${request.method} ${clip(request.target, 300)} ${JSON.stringify(request.headers)}${body ? ` body ${body.length} bytes ${preview}` : ''}`;
};

/** One request to `route`: mostly its own method, sometimes another (a 405), with path, query and body all generated. */
export const hostileRequest = (route: RouteDefinition, schemas: RequestSchemas, fixtures: Fixtures): fc.Arbitrary<HostileRequest> => {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const params = fc.tuple(...names.map((name) => pathValue(name, fixtures)));
  const method = fc.oneof({ weight: 9, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_METHODS) });
  const body: fc.Arbitrary<{ bytes?: Uint8Array; contentType?: string }> =
    schemas.body === 'raw'
      ? hostileAudioBody()
      : schemas.body
        ? hostileJsonBody(schemas.body, fixtures).map(({ text, contentType }) => ({
            ...(text === null ? {} : { bytes: Buffer.from(text) }),
            contentType,
          }))
        : fc.oneof(
            { weight: 4, arbitrary: fc.constant({}) },
            {
              weight: 1,
              arbitrary: fc
                .jsonValue({ maxDepth: 2 })
                .map((value) => ({ bytes: Buffer.from(JSON.stringify(value) ?? ''), contentType: 'application/json' })),
            },
            {
              weight: 1,
              arbitrary: fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ bytes, contentType: 'application/octet-stream' })),
            },
          );
  return fc
    .record({
      method,
      params,
      query: hostileQuery([...propertyNames(schemas.query), ...(names.includes('session_id') ? [] : ['session_id'])], fixtures),
      body,
    })
    .map(({ method, params, query, body: generatedBody }) => {
      let body = generatedBody;
      let path = route.path;
      names.forEach((name, index) => (path = path.replace(`{${name}}`, params[index]!)));
      const headers: Record<string, string> = {};
      if (body.contentType && body.contentType !== 'none') headers['content-type'] = body.contentType;
      const target = query ? `${path}?${query}` : path;
      // A request line node:http cannot parse (raw bytes past ASCII) ends the connection there: no server
      // can read a body past it, so a large one would meet a reset rather than the 400 already sent.
      if (/[\u0080-\u00ff]/.test(target)) body = {};
      return {
        method,
        target,
        headers,
        ...(body.bytes ? { body: body.bytes } : {}),
        // Counterexamples print like this rather than as megabytes of body.
        [fc.toStringMethod]: () => describeHostile({ method, target, headers, ...(body.bytes ? { body: body.bytes } : {}) }),
      };
    });
};
