/**
 * How fast the admin console answers with a large directory: 100,000 users and 100,000 audit
 * events, inserted with multi-row statements, then each console page requested by a signed-in
 * admin (with a second factor, through the real sign-in forms) and timed: median and p95 over
 * ROUNDS requests after a warm-up. Run `node scripts/bench/console.ts`; with DATABASE_URL set it
 * makes (and drops) a database of its own on that PostgreSQL server, else it uses an embedded
 * PGlite in a temporary folder. The target is every page under 50 ms.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { generate } from 'otplib';
import pg from 'pg';
import { createUser } from '../../server/accounts/users.ts';
import { createApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { createDeps, type Deps } from '../../server/deps.ts';
import { createLogger } from '../../server/logger.ts';
import { listenOnLoopback } from './listener.ts';

const USERS = 100_000;
const EVENTS = 100_000;
const BATCH = 1_000;
const ROUNDS = 30;
const WARM_UP = 3;
const PASSWORD = 'bench console passphrase long enough';

async function database(): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-console-bench-'));
  if (!base) return { env: { DATA_DIR: dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) };
  const name = `tessera_console_bench_${randomBytes(4).toString('hex')}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    await client.query(sql);
    await client.end();
  };
  await run(`create database ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.href, SECRET_KEY: randomBytes(24).toString('hex'), DATA_DIR: dataDir },
    async drop() {
      await run(`drop database if exists ${name} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function fill(deps: Deps) {
  const started = performance.now();
  for (let from = 0; from < USERS; from += BATCH) {
    const rows = Array.from({ length: BATCH }, (_, i) => {
      const n = from + i;
      return { id: randomUUID(), email: `user${n}@bench.test`, username: `user${n}`, name: `Bench User ${n}` };
    });
    await deps.db.insertInto('users').values(rows).execute();
  }
  const types = ['login.succeeded', 'login.failed', 'signup', 'password.reset_requested', 'mfa.succeeded'];
  const day = 86_400_000;
  for (let from = 0; from < EVENTS; from += BATCH) {
    const rows = Array.from({ length: BATCH }, (_, i) => {
      const n = from + i;
      return {
        id: String(n + 1_000_000),
        at: new Date(Date.now() - (n % 30) * day - n),
        type: types[n % types.length] as string,
        ip: '192.0.2.1',
        details: '{}',
        prev_hash: '-',
        hash: '-',
      };
    });
    await deps.db.insertInto('audit_events').values(rows).execute();
  }
  // What appending those events would have counted, per day and type.
  await sql`
    insert into daily_counts (day, kind, n)
    select (at at time zone 'UTC')::date, 'event:' || type, count(*) from audit_events group by 1, 2
    on conflict (day, kind) do update set n = daily_counts.n + excluded.n`.execute(deps.db);
  return Math.round(performance.now() - started);
}

/** A cookie jar over fetch, redirects followed by hand so every Set-Cookie is kept. */
function browserish(origin: string) {
  const jar = new Map<string, string>();
  const request = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(url, origin), {
      ...init,
      redirect: 'manual',
      headers: { accept: 'text/html', cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '), ...init.headers },
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return res;
  };
  const follow = async (res: Response, from: string): Promise<{ url: string; html: string; status: number }> => {
    let current = res;
    let url = from;
    while (current.status >= 300 && current.status < 400) {
      url = new URL(current.headers.get('location') ?? '', new URL(url, origin)).href;
      await current.body?.cancel();
      current = await request(url);
    }
    return { url, html: await current.text(), status: current.status };
  };
  return {
    get: async (url: string) => follow(await request(url), url),
    /** Posts the page's form whose action ends with `action`, with the page's CSRF token. */
    async post(page: { url: string; html: string }, action: string, fields: Record<string, string>) {
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.html)?.[1] ?? '';
      const target = [...page.html.matchAll(/<form method="post" action="([^"]+)"/g)]
        .map((m) => m[1] ?? '')
        .find((a) => a.endsWith(action));
      if (!target) throw new Error(`no form posting to …${action} on ${page.url}`);
      const url = new URL(target, page.url).href;
      const body = new URLSearchParams({ ...fields, csrf }).toString();
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      return follow(await request(url, { method: 'POST', body, headers }), url);
    },
  };
}

/** Signs the admin in to the console as a person would: password, then setting up TOTP. */
async function signInAdmin(origin: string) {
  const client = browserish(origin);
  const login = await client.get('/admin');
  const enrol = await client.post(login, '/login', { login: 'root', password: PASSWORD });
  const secret = /id="totp-secret"[^>]*>([^<]+)</.exec(enrol.html)?.[1]?.trim();
  if (!secret) throw new Error(`expected the enrolment page, got ${enrol.url}`);
  const codes = await client.post(enrol, '/mfa/enrol', { code: await generate({ secret }) });
  const overview = await client.post(codes, '/mfa/continue', {});
  if (!overview.html.includes('<h1>Overview</h1>')) throw new Error(`expected the overview, got ${overview.url}`);
  return client;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;

async function main() {
  const db = await database();
  const listener = await listenOnLoopback();
  let deps: Deps | undefined;
  try {
    const config = loadConfig({ ISSUER: listener.origin, PORT: String(listener.port), LOG_LEVEL: 'silent', ...db.env });
    deps = await createDeps(config, createLogger(config.logLevel));
    listener.serve(createApp(deps).callback());
    const filled = await fill(deps);
    await createUser(deps.db, { email: 'root@bench.test', username: 'root', password: PASSWORD, roles: ['admin'] });
    const sample = await deps.db
      .selectFrom('users')
      .select('id')
      .where('username', '=', 'user54321')
      .executeTakeFirstOrThrow();
    // Fresh statistics, as autovacuum would have by the time a real directory is this large.
    await sql`analyze`.execute(deps.db);
    const search = await sql<{
      n: number;
    }>`select count(*)::int as n from pg_indexes where indexname = 'users_search'`.execute(deps.db);
    const admin = await signInAdmin(listener.origin);
    const pages = [
      '/admin',
      '/admin/users',
      '/admin/users?page=1500',
      '/admin/users?q=user4242',
      '/admin/users?q=nobody-at-all',
      `/admin/users/${sample.id}`,
      '/admin/clients',
      '/admin/audit',
      '/admin/audit?type=login.failed',
      `/admin/audit?user=${sample.id}`,
      '/admin/audit?page=1000',
      '/admin/apis',
      '/admin/roles',
      '/admin/api-keys',
      '/admin/keys',
    ];
    console.log(
      `${USERS} users and ${EVENTS} audit events inserted in ${filled} ms (${db.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}; trigram search index: ${search.rows[0]?.n ? 'yes' : 'no'})`,
    );
    console.log('page'.padEnd(48), 'median ms'.padStart(10), 'p95 ms'.padStart(8));
    for (const path of pages) {
      const times: number[] = [];
      for (let i = 0; i < WARM_UP + ROUNDS; i++) {
        const started = performance.now();
        const page = await admin.get(path);
        const ms = performance.now() - started;
        if (page.status !== 200) throw new Error(`${path} answered ${page.status}`);
        if (i >= WARM_UP) times.push(ms);
      }
      times.sort((a, b) => a - b);
      console.log(
        path.slice(0, 48).padEnd(48),
        percentile(times, 0.5).toFixed(1).padStart(10),
        percentile(times, 0.95).toFixed(1).padStart(8),
      );
    }
  } finally {
    await listener.close();
    await deps?.close();
    await db.drop();
  }
}

await main();
