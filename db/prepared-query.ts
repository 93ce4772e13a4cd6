import { createHash } from 'node:crypto';
import type { CompiledQuery, QueryExecutorProvider } from 'kysely';
import type { Db } from './database.ts';

const SLOT = Symbol('prepared query slot');
type Slot = { readonly [SLOT]: string };

const isSlot = (value: unknown): value is Slot => typeof value === 'object' && value !== null && SLOT in value;

/** A query builder's result, or a `sql` template's (which compiles against the database given). */
interface Compilable<R> {
  compile(db: QueryExecutorProvider): CompiledQuery<R>;
}

/**
 * A Kysely query built and compiled once, then run with each call's values. On the token
 * endpoint's hot paths, building and compiling a query cost more of the server's CPU than sending
 * it (a refresh token's read with its grant and account: about 0.2 ms a request).
 *
 * `build` is called once, with stand-ins for the values: each value must reach the query as it is,
 * as a compared or written value (never computed on, never deciding the query's shape), and must
 * appear in it; compiling checks the latter. The SQL is PostgreSQL's, which every database of
 * Tessera speaks (a server or PGlite), so one compilation serves them all.
 */
export function preparedQuery<V extends object, R>(
  build: (db: Db, values: V) => Compilable<R>,
): (db: Db, values: V) => Promise<R[]> {
  let compiled: CompiledQuery<R> | undefined;
  return async (db, values) => {
    compiled ??= compile(db, build);
    const query = compiled;
    const parameters = query.parameters.map((p) => (isSlot(p) ? values[p[SLOT] as keyof V] : p));
    const { rows } = await db.executeQuery<R>({ ...query, parameters });
    return rows;
  };
}

/**
 * `preparedQuery` for statements whose shape grows with a count (how many rows, how many
 * counters): `build(count)` gives the builder for that count, compiled once per count used.
 */
export function preparedQueryPerCount<V extends object, R>(
  build: (count: number) => (db: Db, values: V) => Compilable<R>,
): (count: number) => (db: Db, values: V) => Promise<R[]> {
  const byCount = new Map<number, (db: Db, values: V) => Promise<R[]>>();
  return (count) => {
    let query = byCount.get(count);
    if (!query) {
      query = preparedQuery(build(count));
      byCount.set(count, query);
    }
    return query;
  };
}

/**
 * The values of a `preparedQueryPerCount` statement for `items`: each item's fields numbered by
 * its position (`key0`, `key1`, …), as the statement for that count reads them.
 */
export function numberedValues<T>(
  items: readonly T[],
  fields: (item: T, index: number) => Record<string, unknown>,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  items.forEach((item, i) => {
    for (const [name, value] of Object.entries(fields(item, i))) values[`${name}${i}`] = value;
  });
  return values;
}

function compile<V extends object, R>(db: Db, build: (db: Db, values: V) => Compilable<R>): CompiledQuery<R> {
  const asked = new Set<string>();
  const standIns = new Proxy({} as V, {
    get(_target, name) {
      if (typeof name !== 'string') return undefined;
      asked.add(name);
      return { [SLOT]: name } satisfies Slot;
    },
  });
  const query = build(db, standIns).compile(db);
  const placed = new Set(query.parameters.filter(isSlot).map((p) => p[SLOT]));
  const lost = [...asked].filter((name) => !placed.has(name));
  if (lost.length) throw new Error(`prepared query: ${lost.join(', ')} did not reach the query as a value`);
  names.set(query.sql, `tessera_${createHash('sha256').update(query.sql).digest('base64url').slice(0, 16)}`);
  return query;
}

/** The SQL of every prepared query, with the name a connection prepares it under. */
const names = new Map<string, string>();

/**
 * The name under which a PostgreSQL connection keeps `sql` prepared (parsed and planned once per
 * connection instead of once per run), when it is a prepared query's; the set is fixed by the
 * code, so a connection holds a few dozen statements at most.
 */
export function statementName(sql: string): string | undefined {
  return names.get(sql);
}
