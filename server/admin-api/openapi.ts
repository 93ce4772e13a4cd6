import { z } from 'zod';
import { createDocument, type ZodOpenApiPathsObject } from 'zod-openapi';
import type { Endpoint } from './endpoint.ts';

/** The OpenAPI 3.1 document of the admin API, made from the endpoints' own zod schemas. */
export const errorBody = z
  .object({ error: z.string(), error_description: z.string() })
  .meta({ id: 'Error', description: 'What went wrong, in a code and a sentence.' });

const ERRORS = {
  '400': 'The request is malformed or a field is invalid.',
  '401': 'No credentials, or bad ones.',
  '403': 'The credentials lack the admin role.',
  '404': 'No such object.',
  '409': 'It conflicts with an existing object.',
  '413': 'The body is larger than 64 kB.',
} as const;

export function openApiDocument(endpoints: Endpoint[], issuer: string, prefix: string) {
  const paths: ZodOpenApiPathsObject = {};
  for (const e of endpoints) {
    const errors = Object.fromEntries(
      Object.entries(ERRORS).map(([status, description]) => [
        status,
        { description, content: { 'application/json': { schema: errorBody } } },
      ]),
    );
    const ok =
      e.status === 204
        ? { description: 'Done.' }
        : {
            description: 'Done.',
            content: { 'application/json': { schema: e.response ?? z.unknown() } },
            ...(e.location && {
              headers: { Location: { description: 'Where the new resource is read.', schema: { type: 'string' } } },
            }),
          };
    paths[prefix + e.path] = {
      ...paths[prefix + e.path],
      [e.method]: {
        tags: [e.tag],
        summary: e.summary,
        operationId: `${e.method}${e.path.replace(/\{(\w+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string) => (c ?? '').toUpperCase())}`,
        requestParams: {
          ...(e.params ? { path: e.params as z.ZodObject } : {}),
          ...(e.query ? { query: e.query as z.ZodObject } : {}),
        },
        ...(e.body ? { requestBody: { content: { 'application/json': { schema: e.body } } } } : {}),
        responses: { [String(e.status ?? 200)]: ok, ...errors },
      },
    };
  }
  return createDocument({
    openapi: '3.1.0',
    info: { title: 'Tessera admin API', version: '1.0.0' },
    servers: [{ url: issuer }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An access token from this issuer for the admin API audience with role admin, or an API key (tsk_…).',
        },
      },
    },
    paths,
  });
}
