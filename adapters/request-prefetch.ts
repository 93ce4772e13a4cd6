import { Provider } from 'oidc-provider';

/**
 * Rows a request read ahead, in the statement that read what the library asked for, because the
 * library asks for them next: a rotated refresh token's Grant and account. The next find takes
 * its row from here instead of querying again; each is taken once, and only in the same request.
 * And loads shared by the finds of one request (`onceForRequest`): introspection and revocation
 * look a token up under every token model at once, which one statement answers for all.
 */
const kept = new WeakMap<object, Map<string, unknown>>();

export function keepForRequest(what: string, value: unknown): void {
  const ctx = Provider.ctx;
  if (!ctx) return;
  const rows = kept.get(ctx) ?? new Map<string, unknown>();
  rows.set(what, value);
  kept.set(ctx, rows);
}

export function takeFromRequest<T>(what: string): T | undefined {
  const ctx = Provider.ctx;
  const rows = ctx && kept.get(ctx);
  if (!rows?.has(what)) return undefined;
  const value = rows.get(what) as T;
  rows.delete(what);
  return value;
}

/** `load` run once per request for `what`, however many finds ask for it meanwhile. */
export function onceForRequest<T>(what: string, load: () => Promise<T>): Promise<T> {
  const ctx = Provider.ctx;
  if (!ctx) return load();
  const rows = kept.get(ctx) ?? new Map<string, unknown>();
  kept.set(ctx, rows);
  const loading = (rows.get(what) as Promise<T> | undefined) ?? load();
  rows.set(what, loading);
  return loading;
}
