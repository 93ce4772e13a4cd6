import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import pg from 'pg';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchBrowser } from '../support/browser.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type ClientApp, relyingParty, signInThroughPages, startClientApp } from '../support/oidc-flow.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * PostgreSQL going away under traffic: Tessera reaches its database through a TCP proxy the test
 * cuts, refuses and slows down, and its backends are terminated as a restart would. Clients see 503
 * `temporarily_unavailable` with Retry-After (never 500) within seconds, the process stays up, and
 * service comes back by itself, with grants and refresh chains issued before intact, and refresh
 * chains rotating through the fault still going on (a client retries its token after a 503). Needs a
 * PostgreSQL server: the embedded database has no connection to break.
 */
const serverUrl = process.env.DATABASE_URL;
const PASSWORD = 'a long and unusual passphrase';
/** A bound on any answer while the database is down: the connect timeout (3 s) and some slack. */
const BOUNDED_MS = 6_000;

let database: TestDatabase;
let proxy: TcpProxy;
let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let machine: oidc.Configuration;
let web: oidc.Configuration;
let apiKey: string;

interface Outcome {
  status: number;
  ms: number;
  error?: string | undefined;
  description?: string | undefined;
  retryAfter?: string | null;
}

/**
 * What the client sees of one openid-client call: 200, or the answer's status, error code and
 * Retry-After. openid-client reads the OAuth error body of a 4xx itself; a 5xx comes back as the
 * Response, whose body is read here. No answer at all (the process gone) is status 0.
 */
async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    await call();
    return { status: 200, ms: performance.now() - started };
  } catch (err) {
    const ms = performance.now() - started;
    if (err instanceof oidc.ResponseBodyError) {
      const { status, error, error_description, response } = err;
      return { status, ms, error, description: error_description, retryAfter: response.headers.get('retry-after') };
    }
    const response = (err as { cause?: unknown }).cause;
    if (!(response instanceof Response)) return { status: 0, ms, error: String(err) };
    const body = (await response.json().catch(() => ({}))) as { error?: string; error_description?: string };
    return {
      status: response.status,
      ms,
      error: body.error,
      description: body.error_description,
      retryAfter: response.headers.get('retry-after'),
    };
  }
}

const clientCredentials = () => outcome(() => oidc.clientCredentialsGrant(machine));

function expectUnavailable(o: Outcome) {
  expect(o).toMatchObject({
    status: 503,
    error: 'temporarily_unavailable',
    description: expect.stringContaining('try again shortly'),
    retryAfter: '5',
  });
}

/** 200, or 503 as above; a request caught by the fault may get either, never anything else. */
function expectServedOrUnavailable(outcomes: Outcome[]) {
  for (const o of outcomes) {
    if (o.status !== 200) expectUnavailable(o);
    expect(o.ms).toBeLessThan(BOUNDED_MS);
  }
}

/** Client-credentials requests from `workers` clients back to back until stopped: steady traffic. */
function steadyTraffic(workers = 8) {
  const outcomes: Outcome[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) outcomes.push(await clientCredentials());
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/** A person's grant with a refresh token, and a machine's opaque access token, from before the fault. */
async function issuedBeforeTheFault(context: BrowserContext) {
  const page = await context.newPage();
  const { tokens } = await signInThroughPages(page, web, {
    app,
    login: 'ada',
    password: PASSWORD,
    scope: 'openid offline_access',
    extra: { prompt: 'consent' },
  });
  await page.close();
  const refreshToken = tokens?.refresh_token ?? '';
  expect(refreshToken).toBeTruthy();
  const { access_token } = await oidc.clientCredentialsGrant(machine);
  return { refreshToken, machineToken: access_token };
}

/** After the fault: the refresh chain goes on twice, and the machine's old token is still active. */
async function expectIntactAfterwards(before: { refreshToken: string; machineToken: string }) {
  const next = await oidc.refreshTokenGrant(web, before.refreshToken);
  const again = await oidc.refreshTokenGrant(web, next.refresh_token ?? '');
  expect(again.access_token).toBeTruthy();
  expect((await oidc.tokenIntrospection(machine, before.machineToken)).active).toBe(true);
}

/** Every request succeeds again within a few seconds, with no restart. */
async function expectRecoveredWithin(ms: number) {
  const started = Date.now();
  await eventually(async () => expect((await clientCredentials()).status).toBe(200), ms);
  expect(Date.now() - started).toBeLessThan(ms);
  const burst = await Promise.all(Array.from({ length: 100 }, clientCredentials));
  expect(burst.filter((o) => o.status !== 200)).toEqual([]);
  expect((await fetch(new URL('/readyz', tessera.issuer))).status).toBe(200);
}

function expectStillRunning() {
  expect(tessera.logs()).not.toContain('[tessera exited');
  expect(tessera.logs()).not.toContain('Unhandled');
}

describe('PostgreSQL going away under traffic', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    const target = new URL(database.env.DATABASE_URL ?? '');
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    [tessera, browser, app] = await Promise.all([
      startTessera({ DATABASE_URL: proxy.url(database.env.DATABASE_URL ?? '') }, database),
      launchBrowser(),
      startClientApp(),
    ]);
    const m = (await tessera.cli(['clients', 'create', '--name', 'Batch', '--type', 'machine'])).json<{
      client_id: string;
      client_secret: string;
    }>();
    const w = (
      await tessera.cli(['clients', 'create', '--name', 'Notes', '--type', 'web', '--redirect-uri', app.redirectUri])
    ).json<{ client_id: string; client_secret: string }>();
    (
      await tessera.cli(
        ['users', 'create', '--email', 'ada@example.test', '--username', 'ada', '--password-stdin'],
        `${PASSWORD}\n`,
      )
    ).json();
    apiKey = (await tessera.cli(['api-keys', 'create', '--name', 'ops', '--role', 'admin'])).json<{ key: string }>()
      .key;
    machine = await relyingParty(tessera.issuer, m.client_id, m.client_secret);
    web = await relyingParty(tessera.issuer, w.client_id, w.client_secret);
    await eventually(async () => expect((await clientCredentials()).status).toBe(200));
  });

  afterAll(async () => {
    proxy?.restore();
    await tessera?.stop();
    await Promise.all([browser?.close(), app?.close(), proxy?.close()]);
    await database?.drop();
  });

  it('cut: requests caught in it get 503 with Retry-After, never 500, and service resumes by itself', async () => {
    const context = await browser.newContext();
    const before = await issuedBeforeTheFault(context);
    const traffic = steadyTraffic();
    await new Promise((r) => setTimeout(r, 300));
    proxy.cut();
    const caught = await Promise.all(Array.from({ length: 100 }, clientCredentials));
    await new Promise((r) => setTimeout(r, 300));
    expectServedOrUnavailable([...caught, ...(await traffic.stop())]);
    expectStillRunning();
    await expectRecoveredWithin(5_000);
    await expectIntactAfterwards(before);
    await context.close();
  });

  it('refused: every endpoint answers 503 in bounded time, /healthz 200, /readyz 503; all back after', async () => {
    const context = await browser.newContext();
    const before = await issuedBeforeTheFault(context);
    const traffic = steadyTraffic();
    const logsFrom = tessera.logs().length;
    proxy.refuse();
    try {
      const burst = await Promise.all(Array.from({ length: 100 }, clientCredentials));
      for (const o of burst) expectUnavailable(o);
      expect(Math.max(...burst.map((o) => o.ms))).toBeLessThan(BOUNDED_MS);

      // The other endpoints a client uses, each through openid-client.
      expectUnavailable(await outcome(() => oidc.refreshTokenGrant(web, before.refreshToken)));
      expectUnavailable(await outcome(() => oidc.tokenIntrospection(machine, before.machineToken)));
      expectUnavailable(await outcome(() => oidc.tokenRevocation(machine, before.machineToken)));
      const userinfo = await fetch(new URL('/me', tessera.issuer), {
        headers: { authorization: `Bearer ${before.machineToken}` },
      });
      expect(userinfo.status).toBe(503);
      expect(userinfo.headers.get('retry-after')).toBe('5');

      // The admin API, in its own JSON error shape.
      const admin = await fetch(new URL('/api/admin/users', tessera.issuer), {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(admin.status).toBe(503);
      expect(admin.headers.get('retry-after')).toBe('5');
      expect(await admin.json()).toEqual({
        error: 'temporarily_unavailable',
        error_description: 'The service is briefly unavailable. Please try again shortly.',
      });

      // Pages: the provider's (/auth) and Tessera's own (/account), as a person sees them.
      const page = await context.newPage();
      const authorize = oidc.buildAuthorizationUrl(web, {
        redirect_uri: app.redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      for (const url of [authorize.href, new URL('/account', tessera.issuer).href]) {
        const res = await page.goto(url);
        expect(res?.status()).toBe(503);
        expect(await res?.headerValue('retry-after')).toBe('5');
        expect(await page.textContent('h1')).toBe('Try again shortly');
        expect(await page.textContent('body')).not.toMatch(/at .*\.ts:\d+|oops/);
      }

      const started = performance.now();
      const [healthz, readyz] = await Promise.all(
        ['/healthz', '/readyz'].map((path) => fetch(new URL(path, tessera.issuer))),
      );
      expect(healthz?.status).toBe(200);
      expect(readyz?.status).toBe(503);
      expect(performance.now() - started).toBeLessThan(BOUNDED_MS);
      // The outage outlasts a catalog poll (every second), so the catalog is seen to notice it.
      await eventually(async () => expect(tessera.logs().slice(logsFrom)).toContain('catalog refresh failed'), 5_000);
    } finally {
      proxy.restore();
    }
    expectServedOrUnavailable(await traffic.stop());
    expectStillRunning();
    await expectRecoveredWithin(5_000);
    await expectIntactAfterwards(before);
    // The outage is in the log once, not once a second, and so is the recovery.
    await eventually(async () => expect(tessera.logs().slice(logsFrom)).toContain('catalog refresh works again'));
    expect(tessera.logs().slice(logsFrom).split('catalog refresh failed').length - 1).toBe(1);
    // Operators can see the outage: 503s counted by the dependency that failed.
    const metrics = await (await fetch(new URL('/metrics', tessera.issuer))).text();
    expect(metrics).toMatch(/^tessera_dependency_unavailable_total\{dependency="database"\} [1-9]\d*$/m);
    expect(metrics).not.toMatch(/status="500"/);
    await context.close();
  });

  it('slow: connections that take too long to open get 503 within the connect timeout, not a hang', async () => {
    const context = await browser.newContext();
    const before = await issuedBeforeTheFault(context);
    proxy.delay(8_000);
    proxy.cut();
    try {
      const burst = await Promise.all(Array.from({ length: 100 }, clientCredentials));
      for (const o of burst) expectUnavailable(o);
      expect(Math.max(...burst.map((o) => o.ms))).toBeLessThan(BOUNDED_MS);
    } finally {
      proxy.restore();
    }
    expectStillRunning();
    await expectRecoveredWithin(5_000);
    await expectIntactAfterwards(before);
    await context.close();
  });

  it('terminated backends (what a PostgreSQL restart does to them) while traffic flows do not crash it', async () => {
    const context = await browser.newContext();
    const before = await issuedBeforeTheFault(context);
    const name = new URL(database.env.DATABASE_URL ?? '').pathname.slice(1);
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    try {
      const traffic = steadyTraffic();
      for (let round = 0; round < 3; round++) {
        const [caught] = await Promise.all([
          Promise.all(Array.from({ length: 100 }, clientCredentials)),
          admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]),
        ]);
        expectServedOrUnavailable(caught);
        await new Promise((r) => setTimeout(r, 200));
      }
      expectServedOrUnavailable(await traffic.stop());
    } finally {
      await admin.end();
    }
    expectStillRunning();
    expect(tessera.logs()).toContain('database connection lost');
    await expectRecoveredWithin(5_000);
    await expectIntactAfterwards(before);
    await context.close();
  });

  it('cuts while 30 clients keep rotating refresh tokens: each retries its token after a 503, and no chain is lost', async () => {
    // A sign-in each, in a browser of its own: one session would give every chain the same grant.
    const chains: string[] = [];
    while (chains.length < 30) {
      const context = await browser.newContext();
      chains.push((await issuedBeforeTheFault(context)).refreshToken);
      await context.close();
    }

    const answers: Outcome[] = [];
    let running = true;
    // Each client refreshes back to back, keeping the newest refresh token; after a 503 it presents
    // the same one again, as a client should. Anything else ends its chain (and fails the test).
    const clients = chains.map(async (_token, i) => {
      while (running) {
        let next: string | undefined;
        const answer = await outcome(async () => {
          next = (await oidc.refreshTokenGrant(web, chains[i] ?? '')).refresh_token;
        });
        answers.push(answer);
        if (answer.status === 200 && next) chains[i] = next;
        else if (answer.status !== 503) return;
      }
    });
    for (let cut = 0; cut < 6; cut++) {
      await new Promise((r) => setTimeout(r, 400));
      proxy.cut();
    }
    await new Promise((r) => setTimeout(r, 400));
    running = false;
    await Promise.all(clients);

    const unavailable = answers.filter((a) => a.status === 503);
    expect(unavailable.length).toBeGreaterThan(0);
    expectServedOrUnavailable(answers);
    expectStillRunning();
    // Every chain goes on: its newest refresh token still works, twice.
    await eventually(async () => expect((await clientCredentials()).status).toBe(200));
    const after = await Promise.all(
      chains.map((token) =>
        outcome(async () => {
          const next = await oidc.refreshTokenGrant(web, token);
          await oidc.refreshTokenGrant(web, next.refresh_token ?? '');
        }),
      ),
    );
    expect(after.filter((a) => a.status !== 200)).toEqual([]);
  }, 150_000);

  it('SIGTERM while a token request waits on a slow database: the request completes, then a clean exit', async () => {
    await eventually(async () => expect((await clientCredentials()).status).toBe(200));
    // Every pooled connection dropped, new ones held 1.5 s: the next request waits on its database.
    proxy.delay(1_500);
    proxy.cut();
    const inFlight = clientCredentials();
    await new Promise((r) => setTimeout(r, 300));
    const stopped = tessera.stop();
    const [answer] = await Promise.all([inFlight, stopped]);
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeGreaterThan(1_000);
    expect(tessera.logs()).toContain('stopping: draining requests');
    expect(tessera.logs()).toContain('[tessera exited: code 0, signal null]');
    proxy.restore();
    await tessera.restart();
    expect((await clientCredentials()).status).toBe(200);
  });
});
