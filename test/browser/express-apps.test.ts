import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExpressAuth, type ExpressAuthConfig, getSession } from '@auth/express';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { auth as jwtBearer, requiredScopes } from 'express-oauth2-jwt-bearer';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { freshPagePerTest } from '../support/browser.ts';
import { type BrowserSuite, browserSuitePerFile, createUser } from '../support/browser-suite.ts';
import { consentIfAsked, enterPassword, relyingParty } from '../support/oidc-flow.ts';

/**
 * The Express libraries people put in front of Tessera, configured as the README's recipes write
 * them, each in an app of its own on a loopback port: express-openid-connect (sign-in, the ID
 * token's claims, RP-initiated logout), Auth.js through @auth/express (sign-in, getSession), and
 * express-oauth2-jwt-bearer guarding an API with a client_credentials token.
 */
const API = 'https://api.example.test/reports';
const PASSWORD = 'a long and unusual passphrase';
const APP_SECRET = 'the app session cookie secret, long and random';

let suite: BrowserSuite;
let page: Page;
const servers: Server[] = [];

browserSuitePerFile((s) => {
  suite = s;
});
freshPagePerTest(
  () => suite.browser,
  (_context, p) => {
    page = p;
  },
);

/** Serves the app `build` makes for its own origin on a free loopback port; answers the origin. */
async function serve(build: (origin: string) => RequestListener | Promise<RequestListener>): Promise<string> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.on('request', await build(origin));
  return origin;
}

async function createWebClient(name: string, redirectUri: string, ...flags: string[]) {
  const args = ['clients', 'create', '--name', name, '--type', 'web', '--redirect-uri', redirectUri, ...flags];
  return (await suite.tessera.cli(args)).json<{ client_id: string; client_secret: string }>();
}

beforeAll(async () => {
  (await suite.tessera.cli(['roles', 'create', 'analyst'])).json();
  await createUser(suite.tessera, { username: 'ada', password: PASSWORD, roles: ['analyst'] });
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('express-openid-connect', () => {
  let origin: string;

  beforeAll(async () => {
    // Imported once the test's own modules ran: the package require()s openid-client, which Jest's
    // module loader would otherwise count as a cycle with the static imports above.
    const { auth: openidConnect, requiresAuth } = await import('express-openid-connect');
    origin = await serve(async (origin) => {
      const client = await createWebClient(
        'Express app',
        `${origin}/callback`,
        '--post-logout-redirect-uri',
        `${origin}/signed-out`,
      );
      const app = express();
      app.use(
        openidConnect({
          issuerBaseURL: suite.tessera.issuer,
          baseURL: origin,
          clientID: client.client_id,
          clientSecret: client.client_secret,
          secret: APP_SECRET,
          authRequired: false,
          idpLogout: true,
          routes: { postLogoutRedirect: '/signed-out' },
          authorizationParams: { response_type: 'code', scope: 'openid profile email roles' },
        }),
      );
      app.get('/signed-out', (req, res) => {
        res.send(req.oidc.isAuthenticated() ? 'signed in' : 'signed out');
      });
      app.get('/profile', requiresAuth(), (req, res) => {
        res.json({ email: req.oidc.user?.email, roles: req.oidc.user?.roles });
      });
      return app;
    });
  });

  it('signs a person in through Tessera: the protected route shows the ID token’s email and roles', async () => {
    await page.goto(`${origin}/profile`);
    await enterPassword(page, 'ada', PASSWORD);
    await consentIfAsked(page);
    await page.waitForURL(`${origin}/profile`);
    expect(JSON.parse((await page.locator('body').textContent()) ?? '')).toEqual({
      email: 'ada@example.test',
      roles: ['analyst'],
    });
  });

  it('ends the Tessera session on /logout and comes back to the app', async () => {
    await page.goto(`${origin}/profile`);
    await enterPassword(page, 'ada', PASSWORD);
    await consentIfAsked(page);
    await page.waitForURL(`${origin}/profile`);

    await page.goto(`${origin}/logout`);
    await page.waitForURL((u) => u.href.startsWith(`${suite.tessera.issuer}/session/end`));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${origin}/signed-out`);
    expect(await page.locator('body').textContent()).toBe('signed out');

    // Signed out at Tessera too: the next sign-in asks for the password again.
    await page.goto(`${origin}/profile`);
    await page.waitForURL((u) => u.href.startsWith(`${suite.tessera.issuer}/interaction/`));
    expect(await page.locator('#password').count()).toBe(1);
  });
});

describe('Auth.js (@auth/express)', () => {
  let origin: string;

  beforeAll(async () => {
    origin = await serve(async (origin) => {
      const client = await createWebClient('Auth.js app', `${origin}/auth/callback/tessera`);
      const authConfig: ExpressAuthConfig = {
        trustHost: true,
        secret: APP_SECRET,
        basePath: '/auth',
        providers: [
          {
            id: 'tessera',
            name: 'Tessera',
            type: 'oidc',
            issuer: suite.tessera.issuer,
            clientId: client.client_id,
            clientSecret: client.client_secret,
            authorization: { params: { scope: 'openid profile email roles' } },
          },
        ],
        // Keeps the ID token's roles in the session cookie and shows them in getSession.
        callbacks: {
          jwt: ({ token, profile }) => (profile ? { ...token, roles: profile.roles } : token),
          session: ({ session, token }) => ({ ...session, roles: token.roles }),
        },
      };
      const app = express();
      app.use('/auth', ExpressAuth(authConfig));
      app.get('/me', async (req, res) => {
        res.json(await getSession(req, authConfig));
      });
      return app;
    });
  });

  it('signs a person in through Tessera: getSession shows them and their roles', async () => {
    await page.goto(`${origin}/auth/signin`);
    await page.getByRole('button', { name: 'Sign in with Tessera' }).click();
    await enterPassword(page, 'ada', PASSWORD);
    await consentIfAsked(page);
    await page.waitForURL((u) => u.origin === origin && !u.pathname.startsWith('/auth/callback'));
    await page.goto(`${origin}/me`);
    const session = JSON.parse((await page.locator('body').textContent()) ?? '');
    expect(session).toMatchObject({ user: { name: 'ada', email: 'ada@example.test' }, roles: ['analyst'] });
  });
});

describe('express-oauth2-jwt-bearer', () => {
  let origin: string;

  const tokenFor = async (...flags: string[]) => {
    const args = ['clients', 'create', '--name', 'Reporter', '--type', 'machine', ...flags];
    const machine = (await suite.tessera.cli(args)).json<{ client_id: string; client_secret: string }>();
    const config = await relyingParty(suite.tessera.issuer, machine.client_id, machine.client_secret);
    const { access_token } = await oidc.clientCredentialsGrant(config, { resource: API });
    return { clientId: machine.client_id, token: access_token };
  };
  const getReports = (token?: string) =>
    fetch(`${origin}/reports`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  beforeAll(async () => {
    const args = ['apis', 'create', '--audience', API, '--scope', 'reports:read', '--scope', 'reports:write'];
    (await suite.tessera.cli(args)).json();
    origin = await serve(() => {
      const app = express();
      // strict: the token must be an RFC 9068 access token (typ at+jwt, iat, sub, client_id, jti).
      app.use(jwtBearer({ issuerBaseURL: suite.tessera.issuer, audience: API, strict: true }));
      app.get('/reports', requiredScopes('reports:read'), (req, res) => {
        res.json({ client_id: req.auth?.payload.client_id });
      });
      return app;
    });
  });

  it('accepts a client_credentials token that carries the scope', async () => {
    const { clientId, token } = await tokenFor('--api', API, '--scope', 'reports:read');
    const res = await getReports(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ client_id: clientId });
  });

  it('refuses a token without the scope (403 insufficient_scope) and a request without one (401)', async () => {
    const res = await getReports((await tokenFor('--scope', 'reports:write')).token);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect((await getReports()).status).toBe(401);
  });
});
