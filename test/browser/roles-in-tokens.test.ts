import { beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { freshPagePerTest } from '../support/browser.ts';
import { browserSuitePerFile, createUser } from '../support/browser-suite.ts';
import { type ClientApp, relyingParty, signInThroughPages } from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * The `roles` claim: in the ID token and userinfo when scope `roles` is granted, in every JWT
 * access token whatever the scope, and always the roles of the moment a token is issued.
 */
const API = 'https://api.example.test/reports';
const PASSWORD = 'a long and unusual passphrase';

let tessera: RunningTessera;
let app: ClientApp;
let browser: Browser;
let page: Page;
let web: { client_id: string; client_secret: string };
let config: oidc.Configuration;

async function setRoles(userId: string, ...roles: string[]) {
  (await tessera.cli(['users', 'set-roles', userId, ...roles])).json();
}

/** The access token as the API sees it: verified against /jwks, for this API only. */
async function accessTokenClaims(accessToken: string): Promise<JWTPayload> {
  const jwks = createRemoteJWKSet(new URL('/jwks', tessera.issuer));
  const { payload } = await jwtVerify(accessToken, jwks, { issuer: tessera.issuer, audience: API, typ: 'at+jwt' });
  return payload;
}

async function signIn(login: string, scope: string, extra: Record<string, string> = {}) {
  const { tokens } = await signInThroughPages(page, config, { app, login, password: PASSWORD, scope, extra });
  if (!tokens) throw new Error('the sign-in did not reach the client');
  return tokens;
}

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  for (const role of ['editor', 'auditor', 'reports.writer']) (await tessera.cli(['roles', 'create', role])).json();
  (await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'reports:read'])).json();
  web = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Reports',
      '--type',
      'web',
      '--redirect-uri',
      app.redirectUri,
      '--api',
      API,
    ])
  ).json();
  config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

describe('a user’s roles', () => {
  it('are in the ID token and the JWT access token, and a change shows in the next refresh', async () => {
    const ada = await createUser(tessera, { username: 'ada', password: PASSWORD, roles: ['editor'] });
    // offline_access is kept only when consent is prompted for; resource makes the access token a JWT.
    const signedIn = await signIn('ada', 'openid roles offline_access', { prompt: 'consent', resource: API });
    expect(signedIn.claims()).toMatchObject({ sub: ada.id, roles: ['editor'] });
    expect(await accessTokenClaims(signedIn.access_token)).toMatchObject({ sub: ada.id, roles: ['editor'] });

    await setRoles(ada.id, 'editor', 'auditor');
    const refreshed = await oidc.refreshTokenGrant(config, signedIn.refresh_token ?? '');
    expect(refreshed.claims()?.roles).toEqual(['auditor', 'editor']);
    expect((await accessTokenClaims(refreshed.access_token)).roles).toEqual(['auditor', 'editor']);

    await setRoles(ada.id);
    const emptied = await oidc.refreshTokenGrant(config, refreshed.refresh_token ?? '');
    expect(emptied.claims()?.roles).toEqual([]);
    expect((await accessTokenClaims(emptied.access_token)).roles).toEqual([]);
  });

  it('are answered by userinfo as they are now, for an opaque access token', async () => {
    const grace = await createUser(tessera, { username: 'grace', password: PASSWORD, roles: ['editor'] });
    const signedIn = await signIn('grace', 'openid roles');
    expect(signedIn.access_token.split('.')).toHaveLength(1);
    expect(await oidc.fetchUserInfo(config, signedIn.access_token, grace.id)).toMatchObject({ roles: ['editor'] });

    await setRoles(grace.id, 'auditor');
    expect((await oidc.fetchUserInfo(config, signedIn.access_token, grace.id)).roles).toEqual(['auditor']);
  });

  it('stay out of the ID token and userinfo without scope roles, but are in every JWT access token', async () => {
    const alan = await createUser(tessera, { username: 'alan', password: PASSWORD, roles: ['editor'] });
    const withoutRoles = await signIn('alan', 'openid profile');
    expect(withoutRoles.claims()).toMatchObject({ sub: alan.id });
    expect(withoutRoles.claims()).not.toHaveProperty('roles');
    expect(await oidc.fetchUserInfo(config, withoutRoles.access_token, alan.id)).not.toHaveProperty('roles');

    const forApi = await signIn('alan', 'openid', { resource: API });
    expect(forApi.claims()).toMatchObject({ sub: alan.id });
    expect(forApi.claims()).not.toHaveProperty('roles');
    expect((await accessTokenClaims(forApi.access_token)).roles).toEqual(['editor']);
  });
});

describe('a machine client’s roles', () => {
  it('are in its client_credentials JWT access token', async () => {
    const created = async (...extra: string[]) =>
      (
        await tessera.cli(['clients', 'create', '--name', 'Report writer', '--type', 'machine', '--api', API, ...extra])
      ).json<{
        client_id: string;
        client_secret: string;
      }>();
    const writer = await created('--role', 'reports.writer');
    const plain = await created();
    const tokenFor = async (client: { client_id: string; client_secret: string }) => {
      const machine = await relyingParty(tessera.issuer, client.client_id, client.client_secret);
      return accessTokenClaims((await oidc.clientCredentialsGrant(machine, { resource: API })).access_token);
    };
    expect(await tokenFor(writer)).toMatchObject({ sub: writer.client_id, roles: ['reports.writer'] });
    expect(await tokenFor(plain)).toMatchObject({ sub: plain.client_id, roles: [] });
  });
});
