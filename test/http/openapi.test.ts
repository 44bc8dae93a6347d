import { describe, expect, it } from 'vitest';
import { SPEAKER_PATTERN } from '../../functions/core/chunk-track';
import { buildOpenApiDocument } from '../../functions/http/openapi';
import { routes } from '../../functions/routes';

describe('the OpenAPI document', () => {
  it('lists exactly the routes of the route table', async () => {
    const document = await buildOpenApiDocument();
    expect(document.openapi).toBe('3.1.0');
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('describes every path parameter of every template, from the handlers’ zod schemas', async () => {
    const document = await buildOpenApiDocument();
    for (const route of routes) {
      const operation = document.paths[route.path]![route.method.toLowerCase()] as { parameters: { name: string; in: string }[] };
      const templateNames = [...route.path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const pathParameters = operation.parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name);
      expect(pathParameters.sort(), `${route.method} ${route.path}`).toEqual(templateNames.sort());
    }
  });

  it('carries the id patterns and body constraints the handlers enforce', async () => {
    const document = await buildOpenApiDocument();
    const getSession = document.paths['/sessions/{session_id}']!.get as { parameters: { schema: { pattern?: string } }[] };
    expect(getSession.parameters[0]!.schema.pattern).toBe('^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$');
    const createSession = document.paths['/sessions']!.post as {
      requestBody: { content: Record<string, { schema: { properties: Record<string, unknown>; additionalProperties?: boolean } }> };
    };
    const schema = createSession.requestBody.content['application/json']!.schema;
    expect(Object.keys(schema.properties).sort()).toEqual(['candidate', 'interviewer', 'metadata', 'session_id']);
    expect(schema.additionalProperties).toBe(false);
    const upload = document.paths['/sessions/{session_id}/audio_chunks']!.post as { requestBody: { content: Record<string, unknown> } };
    expect(Object.keys(upload.requestBody.content)).toContain('audio/wav');
  });

  it('documents erasure and the legal hold, with the hold reason required', async () => {
    const document = await buildOpenApiDocument();
    expect(document.paths['/sessions/{session_id}']!.delete).toBeDefined();
    const hold = document.paths['/sessions/{session_id}/hold']! as Record<string, any>;
    expect(Object.keys(hold).sort()).toEqual(['delete', 'put']);
    const schema = hold.put.requestBody.content['application/json'].schema;
    expect(schema.required).toEqual(['reason']);
    expect(schema.additionalProperties).toBe(false);
  });

  it('documents the chunk track query parameters, the browser audio types and a retry status of the raw-body upload', async () => {
    const document = await buildOpenApiDocument();
    const upload = document.paths['/sessions/{session_id}/audio_chunks']!.post as {
      parameters: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
      requestBody: { content: Record<string, unknown> };
      responses: Record<string, unknown>;
    };
    const query = upload.parameters.filter((parameter) => parameter.in === 'query');
    expect(query.map((parameter) => parameter.name).sort()).toEqual(['sequence', 'speaker', 'started_at']);
    expect(query.every((parameter) => !parameter.required)).toBe(true);
    expect(query.find((parameter) => parameter.name === 'speaker')!.schema.pattern).toBe('^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$');
    expect(Object.keys(upload.requestBody.content)).toEqual(expect.arrayContaining(['audio/webm', 'audio/ogg', 'audio/mp4', 'audio/wav']));
    expect(Object.keys(upload.responses)).toEqual(expect.arrayContaining(['200', '201', '202']));
  });

  it('documents the trigger’s 503 with Retry-After while a first snapshot is built', async () => {
    const document = await buildOpenApiDocument();
    const trigger = document.paths['/sandbox_snapshot/trigger']!.post as {
      responses: Record<string, { headers?: Record<string, unknown> }>;
    };
    expect(Object.keys(trigger.responses)).toEqual(expect.arrayContaining(['201', '503']));
    expect(Object.keys(trigger.responses['503']!.headers ?? {})).toEqual(['Retry-After']);
  });

  it('describes the direct-upload request: its fields, the chunk track, and no others', async () => {
    const document = await buildOpenApiDocument();
    const operation = document.paths['/sessions/{session_id}/audio_chunks/uploads']!.post as {
      requestBody: {
        content: Record<string, { schema: { properties: Record<string, any>; required: string[]; additionalProperties?: boolean } }>;
      };
      responses: Record<string, unknown>;
    };
    const schema = operation.requestBody.content['application/json']!.schema;
    expect(Object.keys(schema.properties).sort()).toEqual(['content_type', 'sequence', 'sha256', 'size_bytes', 'speaker', 'started_at']);
    expect(schema.properties.sha256).toMatchObject({ type: 'string', pattern: '^[0-9A-Fa-f]{64}$' });
    expect(schema.required.sort()).toEqual(['content_type', 'size_bytes']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.size_bytes).toMatchObject({ type: 'integer', minimum: 1 });
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '201']));
  });

  it('leaves only the public routes open', async () => {
    const document = await buildOpenApiDocument();
    for (const route of routes) {
      const operation = document.paths[route.path]![route.method.toLowerCase()] as { security?: unknown[] };
      expect(operation.security, `${route.method} ${route.path}`).toEqual('public' in route && route.public ? [] : undefined);
    }
  });

  it('documents the session transcript and search query parameters, the speaker filter with its pattern', async () => {
    const document = await buildOpenApiDocument();
    type Operation = { parameters: { name: string; in: string; schema: { pattern?: string; enum?: string[] } }[] };
    const queryOf = (path: string) => (document.paths[path]!.get as Operation).parameters.filter((p) => p.in === 'query');
    const transcript = queryOf('/sessions/{session_id}/transcript');
    expect(transcript.map((p) => p.name)).toEqual(['format', 'from_chunk', 'to_chunk']);
    expect(transcript[0]!.schema.enum).toEqual(['json', 'txt', 'srt', 'vtt']);
    const search = queryOf('/search/transcripts');
    expect(search.map((p) => p.name)).toEqual(['q', 'session_id', 'speaker', 'limit', 'cursor']);
    expect(search.find((p) => p.name === 'speaker')!.schema.pattern).toBe(SPEAKER_PATTERN.source);
  });
});
