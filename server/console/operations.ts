import type { Context } from 'koa';
import type { AdminDeps, Endpoint } from '../admin-api/endpoint.ts';
import { ADMIN_ENDPOINTS } from '../admin-api/endpoints.ts';
import { parseInput } from '../validation.ts';
import type { Admin } from './session.ts';

/**
 * The console changes nothing by itself: every action runs an admin API endpoint, with that
 * endpoint's own schemas, rules and audit rows, as the signed-in admin. So the console and the
 * API cannot disagree. An endpoint named here that does not exist fails at start, not on a click.
 */
export interface OperationInput {
  params?: Record<string, string>;
  query?: Record<string, unknown>;
  body?: unknown;
}

export type Operation = (ctx: Context, admin: Admin, input?: OperationInput) => Promise<unknown>;

export function adminOperation(deps: AdminDeps, method: Endpoint['method'], path: string): Operation {
  const e = ADMIN_ENDPOINTS.find((x) => x.method === method && x.path === path);
  if (!e) throw new Error(`the console names an admin endpoint that does not exist: ${method} ${path}`);
  return (ctx, admin, input = {}) =>
    e.handle({
      params: e.params ? parseInput(e.params, input.params ?? {}) : undefined,
      query: e.query ? parseInput(e.query, input.query ?? {}) : undefined,
      body: e.body ? parseInput(e.body, input.body ?? {}) : undefined,
      caller: { kind: 'console', subject: admin.user.id },
      actor: admin.actor,
      ctx,
      deps,
    });
}

/** `adminOperation` bound to one set of dependencies, for a page file that names many endpoints. */
export const operationsOf =
  (deps: AdminDeps) =>
  (method: Endpoint['method'], path: string): Operation =>
    adminOperation(deps, method, path);
