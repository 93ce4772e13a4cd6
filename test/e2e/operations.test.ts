import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/** What an operator relies on: health, headers, request ids, clean refusals at start, and SIGTERM. */
let tessera: RunningTessera;

beforeAll(async () => {
  tessera = await startTessera();
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('health', () => {
  it('answers /healthz and /readyz while the database is reachable', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(new URL(path, tessera.issuer));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
  });
});

describe('metrics', () => {
  it('gives Prometheus request counts and latency by route, security events by type, and process figures', async () => {
    await fetch(new URL('/healthz', tessera.issuer));
    const token = await fetch(new URL('/token', tessera.issuer), {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'nobody' }),
    });
    expect(token.status).toBe(401);
    await fetch(new URL('/interaction/not-a-real-uid-123/login', tessera.issuer));
    const key = (await tessera.cli(['api-keys', 'create', '--name', 'metrics', '--role', 'admin'])).json<{
      key: string;
    }>();
    const role = await fetch(new URL('/api/admin/roles', tessera.issuer), {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'auditor' }),
    });
    expect(role.status).toBe(201);

    const res = await fetch(new URL('/metrics', tessera.issuer));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/^tessera_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/m);
    expect(text).toMatch(/^tessera_http_requests_total\{method="POST",route="token",status="401"\} 1$/m);
    // Paths with ids are counted under their pattern, so the series stay few.
    expect(text).toContain('route="/interaction/:uid/login"');
    expect(text).not.toContain('not-a-real-uid-123');
    expect(text).toMatch(
      /^tessera_http_request_duration_seconds_bucket\{le="0.1",method="GET",route="\/healthz"\} [1-9]/m,
    );
    expect(text).toMatch(/^tessera_security_events_total\{type="role.created"\} 1$/m);
    expect(text).toMatch(/^process_cpu_seconds_total [\d.]+$/m);
  });
});

describe('the operational paths', () => {
  it('answer only as written, so a proxy rule for /metrics covers every way to reach it', async () => {
    for (const path of ['/METRICS', '/Metrics/', '/metrics/', '/HEALTHZ']) {
      expect((await fetch(new URL(path, tessera.issuer))).status).toBe(404);
    }
    expect((await fetch(new URL('/metrics', tessera.issuer))).status).toBe(200);
  });
});

describe('every response', () => {
  it('carries a request id (the caller’s when it sent a sane one) and the security headers', async () => {
    const own = await fetch(new URL('/healthz', tessera.issuer), { headers: { 'x-request-id': 'trace-1234abcd' } });
    expect(own.headers.get('x-request-id')).toBe('trace-1234abcd');
    const odd = await fetch(new URL('/healthz', tessera.issuer), { headers: { 'x-request-id': '<script>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(odd.headers.get('x-content-type-options')).toBe('nosniff');
    expect(odd.headers.get('x-frame-options')).toBe('DENY');
    expect(odd.headers.get('referrer-policy')).toBe('no-referrer');
    // The server's log and its answer come by different pipes: the line may arrive after the answer.
    await eventually(async () => expect(tessera.logs()).toContain('"reqId":"trace-1234abcd"'));
  });

  it('answers an unknown path with 404 as JSON or as a page, whichever was asked for', async () => {
    const json = await fetch(new URL('/no/such/thing', tessera.issuer), { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({ error: 'not_found', error_description: 'There is nothing at this address.' });
    const page = await fetch(new URL('/no/such/thing', tessera.issuer), { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(await page.text()).toContain('Page not found');
  });

  it('answers a method a path does not take with 405 and the ones it does, as JSON or as a page', async () => {
    const at = new URL('/account', tessera.issuer);
    const page = await fetch(at, { method: 'PUT', headers: { accept: 'text/html' } });
    expect(page.status).toBe(405);
    expect(page.headers.get('allow')).toContain('GET');
    expect(await page.text()).toContain('This address does not take PUT');
    const json = await fetch(at, { method: 'DELETE', headers: { accept: 'application/json' } });
    expect(json.status).toBe(405);
    expect(await json.json()).toMatchObject({ error: 'method_not_allowed' });
  });
});

describe('an https issuer', () => {
  it('adds HSTS and marks its cookies Secure', async () => {
    const port = new URL(tessera.issuer).port;
    const https = await startTessera({ ISSUER: `https://localhost:${port}` });
    try {
      const res = await fetch(`http://localhost:${https.env.PORT}/forgot-password`);
      expect(res.status).toBe(200);
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      const cookies = res.headers.getSetCookie();
      expect(cookies.length).toBeGreaterThan(0);
      for (const cookie of cookies) expect(cookie).toMatch(/; secure/i);
      expect((await fetch(new URL('/healthz', tessera.issuer))).headers.get('strict-transport-security')).toBeNull();

      // oidc-provider's own cookies too, though the last hop is plain http (TLS ends at a proxy).
      const spa = (
        await https.cli([
          'clients',
          'create',
          '--name',
          'S',
          '--type',
          'spa',
          '--redirect-uri',
          'https://app.example/cb',
        ])
      ).json<{ client_id: string }>();
      const auth = await eventually(async () => {
        const url = new URL(`http://localhost:${https.env.PORT}/auth`);
        url.search = new URLSearchParams({
          client_id: spa.client_id,
          response_type: 'code',
          redirect_uri: 'https://app.example/cb',
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
        }).toString();
        const res = await fetch(url, { redirect: 'manual' });
        expect(res.status).toBe(303);
        return res;
      });
      const interaction = auth.headers.getSetCookie().find((c) => c.startsWith('_interaction='));
      expect(interaction).toMatch(/; secure/i);
      expect(interaction).toMatch(/; samesite=lax/i);
      expect(interaction).toMatch(/; httponly/i);
    } finally {
      await https.dispose();
    }
  });
});

describe('a bad configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, 'Invalid configuration: PORT must be a port number'],
    [{ ISSUER: 'https://id.example.com/tenant' }, 'Invalid configuration: ISSUER must be an origin without a path'],
    [
      { DATABASE_URL: 'postgres://db.example/tessera' },
      'Invalid configuration: SECRET_KEY is required when DATABASE_URL is set',
    ],
    [{ SECRET_KEY: 'too short' }, 'Invalid configuration: SECRET_KEY must be at least 32 characters'],
    [
      { WORKERS: '2' },
      'Invalid configuration: WORKERS is 2, but the embedded database serves one process; set DATABASE_URL to run several, or WORKERS=1',
    ],
    [{ WORKERS: 'many' }, 'Invalid configuration: WORKERS must be a number of processes (1 to 256) or auto'],
  ])('%j stops the start with one line naming the variable', async (env, line) => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn(process.execPath, [join(import.meta.dirname, '..', '..', 'server', 'main.ts')], {
          env: { PATH: process.env.PATH, DATA_DIR: '/nonexistent/never-created', ...env },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c;
        });
        child.stderr.on('data', (c: Buffer) => {
          err += c;
        });
        child.on('exit', (exitCode) => resolve({ code: exitCode, stdout: out, stderr: err }));
      },
    );
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim()).toBe(line);
  });
});

describe('SIGTERM', () => {
  it('lets a request in flight finish, then exits cleanly', async () => {
    const { port } = new URL(tessera.issuer);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (c: Buffer) => {
      response += c;
    });
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const body = 'grant_type=client_credentials';
    // Headers and half the body now; the rest after the server was told to stop.
    socket.write(
      `POST /token HTTP/1.1\r\nHost: localhost:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Authorization: Basic ${Buffer.from('nobody:nothing').toString('base64')}\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((r) => setTimeout(r, 200));
    const stopped = tessera.stop();
    await new Promise((r) => setTimeout(r, 300));
    // write, not end: a client that half-closes its socket gives up on the answer.
    socket.write(body.slice(10));
    await Promise.all([stopped, closed]);
    expect(response).toMatch(/^HTTP\/1\.1 401/);
    expect(response).toContain('invalid_client');
    expect(tessera.logs()).toContain('stopping: draining requests');
    expect(tessera.logs()).toContain('[tessera exited: code 0, signal null]');
    await tessera.restart();
    expect((await fetch(new URL('/healthz', tessera.issuer))).status).toBe(200);
  });
});
