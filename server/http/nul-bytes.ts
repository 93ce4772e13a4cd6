import type { Context, Next } from 'koa';
import { AppError } from '../errors.ts';

/**
 * PostgreSQL text cannot hold a NUL character: one reaching a query fails it, which used to answer
 * 500. Input to Tessera's own routes is refused before that, as a 400 `invalid_input`: the path
 * and query string on each of its routers, posted forms in `formBody`, and JSON and CLI input in
 * `parseInput`. oidc-provider's routes are left to it (an OAuth `state` may carry any character);
 * the adapter there finds no id holding a NUL instead of querying for it.
 */
const NUL = '\u0000';
// Percent-encoded (a raw one never gets past Node's parser); "%2500" is a literal "%00" and stays allowed.
const NUL_IN_URL = /%00/;

/** Where the first NUL is in a parsed value (object keys count too), or undefined when there is none. */
export function findNul(value: unknown, path: (string | number)[] = []): (string | number)[] | undefined {
  if (typeof value === 'string') return value.includes(NUL) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findNul(item, [...path, i]);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes(NUL)) return [...path, key];
      const found = findNul(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

const refuse = () => new AppError('invalid_input', 'The request contains a NUL character, which is never valid here.');

/** On a router, before its routes: a NUL in the path or the query string ends the request with 400. */
export async function rejectNulInUrl(ctx: Context, next: Next) {
  if (NUL_IN_URL.test(ctx.url) || ctx.url.includes(NUL)) throw refuse();
  await next();
}

/** After a body parser: a NUL in any posted field ends the request with 400. */
export async function rejectNulInBody(ctx: Context, next: Next) {
  if (findNul(ctx.request.body)) throw refuse();
  await next();
}
