/**
 * The OpenAPI 3.1 document, generated from the route table and the zod schemas the handlers validate
 * with (zod's own JSON Schema output is draft 2020-12, which OpenAPI 3.1 uses as is). Nothing here is
 * written by hand, so the document cannot drift from what the handlers accept.
 */

import { CANONICAL_MEDIA_TYPE } from '../core/audio/probe';
import { type RouteDefinition, routes as routeTable } from '../routes';
import * as z from '../validation';
import { type RequestSchemas, requestSchemas } from './request-schemas';

type JsonSchema = Record<string, unknown>;

const jsonSchemaOf = (schema: z.ZodMiniType): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

const parametersOf = (schema: z.ZodMiniType | undefined, location: 'path' | 'query') => {
  if (!schema) return [];
  const { properties = {}, required = [] } = jsonSchemaOf(schema) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.includes(name),
    schema: property,
  }));
};

/** Every type some engine accepts; a deployment whose recognizer cannot read one answers 415 saying so. */
const AUDIO_MEDIA_TYPES = Object.values(CANONICAL_MEDIA_TYPE);

const requestBodyOf = (body: RequestSchemas['body']) => {
  if (!body) return undefined;
  if (body === 'raw') {
    return {
      required: true,
      content: Object.fromEntries(AUDIO_MEDIA_TYPES.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }])),
    };
  }
  return { required: true, content: { 'application/json': { schema: jsonSchemaOf(body) } } };
};

const envelopeRef = (name: string) => ({
  description: name,
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } },
});

const operationOf = (route: RouteDefinition, schemas: RequestSchemas) => {
  const requestBody = requestBodyOf(schemas.body);
  return {
    operationId: route.handler.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase()),
    summary: route.summary,
    ...(route.public ? { security: [] } : {}),
    parameters: [...parametersOf(schemas.params, 'path'), ...parametersOf(schemas.query, 'query')],
    ...(requestBody ? { requestBody } : {}),
    responses: {
      [String(schemas.status ?? 200)]: envelopeRef('SuccessEnvelope'),
      ...Object.fromEntries((schemas.alsoAnswers ?? []).map((status) => [String(status), envelopeRef('SuccessEnvelope')])),
      '4XX': envelopeRef('ErrorEnvelope'),
      ...(schemas.retryLater
        ? {
            '503': {
              ...envelopeRef('ErrorEnvelope'),
              description: schemas.retryLater,
              headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } } },
            },
          }
        : {}),
      '5XX': envelopeRef('ErrorEnvelope'),
    },
  };
};

export const buildOpenApiDocument = (routes: readonly RouteDefinition[] = routeTable) => {
  const schemasOf: Readonly<Record<string, RequestSchemas>> = requestSchemas;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const schemas = schemasOf[route.handler];
    if (!schemas) throw new Error(`functions/http/request-schemas.ts has no schemas for ${route.handler}`);
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOf(route, schemas);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'interview-ops',
      version: '1.0.0',
      description: 'Transcripts of interview audio chunks and snapshots of the interview sandbox.',
    },
    security: [{ sigv4: [] }],
    paths,
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'AWS Signature Version 4 (API Gateway IAM authorization)',
        },
      },
      schemas: {
        SuccessEnvelope: {
          type: 'object',
          required: ['success', 'message', 'data'],
          properties: { success: { const: true }, message: { type: 'string' }, data: {} },
        },
        ErrorEnvelope: {
          type: 'object',
          required: ['success', 'message', 'error'],
          properties: { success: { const: false }, message: { type: 'string' }, error: { type: 'string' } },
        },
      },
    },
  };
};
