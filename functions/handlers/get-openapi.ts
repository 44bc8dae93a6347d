/**
 * GET /openapi.json: the document itself, outside the envelope, as tools expect. It needs no database
 * or store, so it is a plain handler rather than an apiHandler, whose bundle would carry their clients.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildOpenApiDocument } from '../http/openapi';

// Built once per container: the routes and schemas cannot change while it runs.
let body: string | undefined;

export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: (body ??= JSON.stringify(buildOpenApiDocument())),
});
