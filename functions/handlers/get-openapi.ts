import { apiHandler } from '../http/api-handler';
import { buildOpenApiDocument } from '../http/openapi';

let document: ReturnType<typeof buildOpenApiDocument> | undefined;

export const handler = apiHandler({
  message: 'OpenAPI document',
  envelope: false,
  // Built once per container: the routes and schemas cannot change while it runs.
  run: () => (document ??= buildOpenApiDocument()),
});
