import type { Context } from 'koa';
import type { z } from 'zod';
import type { Db } from '../../db/database.ts';
import type { Audit } from '../audit/audit.ts';
import type { Secrets } from '../secrets.ts';

/**
 * One admin API operation: its path, its zod schemas and its handler. The router validates with
 * the same schemas the OpenAPI document is generated from, so the two cannot drift apart.
 */
export type Caller =
  | { kind: 'token'; subject: string }
  | { kind: 'api_key'; id: string }
  /** An admin signed in to the console, which runs the same endpoints (server/console/operations.ts). */
  | { kind: 'console'; subject: string };

export interface AdminDeps {
  db: Db;
  /** This server's issuer, e.g. to recognise the admin API's own audience. */
  issuer: string;
  secrets: Secrets;
  audit: Audit;
}

export interface EndpointInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: Caller;
  /** For audit rows: `user:<sub>` (a person, by token or in the console) or `api_key:<id>`. */
  actor: string;
  ctx: Context;
  deps: AdminDeps;
}

export interface Endpoint<P = unknown, Q = unknown, B = unknown> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI style, below /api/admin: `/users/{id}`. */
  path: string;
  tag: string;
  summary: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** 200 unless said; 204 answers no body. */
  status?: 200 | 201 | 202 | 204;
  response?: z.ZodType;
  /** For a 201: where the created resource is read, below /api/admin (its `Location`). */
  location?: (created: { id?: unknown; client_id?: unknown }) => string;
  handle(input: EndpointInput<P, Q, B>): Promise<unknown>;
}

/** Keeps each endpoint's handler typed by its own schemas. */
export function endpoint<P = undefined, Q = undefined, B = undefined>(e: Endpoint<P, Q, B>): Endpoint {
  return e as Endpoint;
}
