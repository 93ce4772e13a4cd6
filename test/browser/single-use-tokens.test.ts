import { beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { freshPagePerTest } from '../support/browser.ts';
import { browserSuitePerFile, createUser } from '../support/browser-suite.ts';
import { type ClientApp, codeThroughPages, relyingParty } from '../support/oidc-flow.ts';
import { eventually, type RunningTessera } from '../support/tessera.ts';

/**
 * An authorization code and a refresh token are good for one use, however many requests present
 * them at the same moment: one request gets tokens, every other one `invalid_grant`, and since
 * that is a reuse the whole grant is revoked, so no second chain of tokens ever lives. A client
 * with a refresh grace window instead gives every request presenting a just-rotated refresh
 * token, within the window, the one token it was rotated into: still one chain, and two tabs
 * refreshing at once stay signed in. After the window, a reuse revokes the grant as before.
 */
const PASSWORD = 'a long and unusual passphrase';
const AT_ONCE = 120;

let tessera: RunningTessera;
let app: ClientApp;
let browser: Browser;
let page: Page;
let user: { id: string };
let web: { client_id: string; client_secret: string };
let config: oidc.Configuration;
/** A client with a generous refresh grace window, and one with a brief one. */
let tabs: { client_id: string; client_secret: string };
let tabsConfig: oidc.Configuration;
let brief: { client_id: string; client_secret: string };
let briefConfig: oidc.Configuration;
const BRIEF_GRACE_SECONDS = 1;

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  user = await createUser(tessera, { username: 'grace', password: PASSWORD });
  web = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Ledger',
      '--type',
      'web',
      '--redirect-uri',
      app.redirectUri,
      '--refresh-grace',
      '0',
    ])
  ).json();
  config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
  tabs = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Tabs',
      '--type',
      'web',
      '--redirect-uri',
      app.redirectUri,
      '--refresh-grace',
      '30',
    ])
  ).json();
  tabsConfig = await relyingParty(tessera.issuer, tabs.client_id, tabs.client_secret);
  brief = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Brief',
      '--type',
      'web',
      '--redirect-uri',
      app.redirectUri,
      '--refresh-grace',
      String(BRIEF_GRACE_SECONDS),
    ])
  ).json();
  briefConfig = await relyingParty(tessera.issuer, brief.client_id, brief.client_secret);
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

/** Signs in through the pages and returns the code the client receives, not yet redeemed. */
async function codeFromSignIn(client = config): Promise<{ callback: URL; verifier: string; state: string }> {
  return codeThroughPages(page, client, {
    app,
    login: 'grace',
    password: PASSWORD,
    scope: 'openid offline_access',
    extra: { prompt: 'consent' },
  });
}

/** A token request as a client sends it, without openid-client's checks, so every answer is seen. */
async function tokenRequest(
  params: Record<string, string>,
  client = web,
): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(new URL('/token', tessera.issuer), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** How many requests got tokens and how many `invalid_grant`; any other answer is listed as it came. */
function tally(answers: { status: number; body: Record<string, string> }[]) {
  const won = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 400 && a.body.error === 'invalid_grant');
  const other = answers.filter((a) => !won.includes(a) && !refused.includes(a));
  return { won: won.map((a) => a.body), wins: won.length, refusals: refused.length, other };
}

async function expectRevoked(tokens: { access_token: string; refresh_token: string; client?: oidc.Configuration }) {
  const client = tokens.client ?? config;
  expect((await oidc.tokenIntrospection(client, tokens.access_token)).active).toBe(false);
  expect((await oidc.tokenIntrospection(client, tokens.refresh_token)).active).toBe(false);
  await expect(oidc.refreshTokenGrant(client, tokens.refresh_token)).rejects.toMatchObject({ error: 'invalid_grant' });
}

describe('an authorization code', () => {
  it('redeemed once gives working tokens', async () => {
    const { callback, verifier, state } = await codeFromSignIn();
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });

    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.access_token).toBeTruthy();
  });

  it(`presented ${AT_ONCE} times at once gives tokens once, and the reuse revokes them`, async () => {
    const { callback, verifier } = await codeFromSignIn();
    const params = {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code') ?? '',
      redirect_uri: app.redirectUri,
      code_verifier: verifier,
    };

    const answers = await Promise.all(Array.from({ length: AT_ONCE }, () => tokenRequest(params)));

    const { won, wins, refusals, other } = tally(answers);
    expect(other).toEqual([]);
    expect({ wins, refusals }).toEqual({ wins: 1, refusals: AT_ONCE - 1 });
    const winner = won[0] as { access_token: string; refresh_token: string };
    expect(winner.refresh_token).toBeTruthy();
    await expectRevoked(winner);
  });
});

describe('a refresh token', () => {
  it(`presented ${AT_ONCE} times at once is used at most once, and the reuse revokes the grant`, async () => {
    const { callback, verifier, state } = await codeFromSignIn();
    const first = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const params = { grant_type: 'refresh_token', refresh_token: first.refresh_token ?? '' };

    const answers = await Promise.all(Array.from({ length: AT_ONCE }, () => tokenRequest(params)));

    const { won, wins, refusals, other } = tally(answers);
    expect(other).toEqual([]);
    expect(wins).toBeLessThanOrEqual(1);
    expect(wins + refusals).toBe(AT_ONCE);
    // Whatever the one winner got is dead: no second chain of refresh tokens lives on.
    for (const body of won) await expectRevoked(body as { access_token: string; refresh_token: string });
    await expectRevoked({ access_token: first.access_token, refresh_token: first.refresh_token ?? '' });
    // The reuse is a security event, audited with whose grant it was.
    await eventually(async () => {
      const audited = tessera
        .logs()
        .split('\n')
        .filter((line) => line.includes('"type":"refresh_token.reused"') && line.includes(`"userId":"${user.id}"`));
      expect(audited.length).toBeGreaterThan(0);
    });
  });
});

describe('a refresh token of a client with a grace window', () => {
  /** Signs in to a client and redeems the code: its first tokens. */
  async function signedIn(client: oidc.Configuration) {
    const { callback, verifier, state } = await codeFromSignIn(client);
    return oidc.authorizationCodeGrant(client, callback, { pkceCodeVerifier: verifier, expectedState: state });
  }
  const refresh = (refreshToken: string, client = tabs) =>
    tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken }, client);

  it('refreshed by two tabs at once gives both the same successor, and the grant lives', async () => {
    const first = await signedIn(tabsConfig);

    const [a, b] = await Promise.all([refresh(first.refresh_token ?? ''), refresh(first.refresh_token ?? '')]);

    expect([a?.status, b?.status]).toEqual([200, 200]);
    expect(a?.body.refresh_token).toBeTruthy();
    expect(b?.body.refresh_token).toBe(a?.body.refresh_token);
    // Each tab's access token works, and the one successor carries the chain on.
    expect((await oidc.tokenIntrospection(tabsConfig, a?.body.access_token ?? '')).active).toBe(true);
    expect((await oidc.tokenIntrospection(tabsConfig, b?.body.access_token ?? '')).active).toBe(true);
    const next = await oidc.refreshTokenGrant(tabsConfig, a?.body.refresh_token ?? '');
    expect(next.refresh_token).toBeTruthy();
  });

  it(`presented ${AT_ONCE} times at once gives all the same successor, and the grant lives`, async () => {
    const first = await signedIn(tabsConfig);

    const answers = await Promise.all(Array.from({ length: AT_ONCE }, () => refresh(first.refresh_token ?? '')));

    const { won, wins, other } = tally(answers);
    expect(other).toEqual([]);
    expect(wins).toBe(AT_ONCE);
    const successors = new Set(won.map((body) => body.refresh_token));
    expect(successors.size).toBe(1);
    const [successor = ''] = successors;
    expect(await oidc.tokenIntrospection(tabsConfig, successor)).toMatchObject({ active: true });
    expect((await oidc.refreshTokenGrant(tabsConfig, successor)).refresh_token).toBeTruthy();
  });

  it('presented again after the window is a reuse that revokes the grant', async () => {
    const first = await signedIn(briefConfig);
    const rotated = await refresh(first.refresh_token ?? '', brief);
    expect(rotated.status).toBe(200);
    // Within the window, presented again: the same successor.
    expect((await refresh(first.refresh_token ?? '', brief)).body.refresh_token).toBe(rotated.body.refresh_token);

    await new Promise((resolve) => setTimeout(resolve, BRIEF_GRACE_SECONDS * 1000 + 200));
    const late = await refresh(first.refresh_token ?? '', brief);

    expect(late).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    await expectRevoked({
      access_token: rotated.body.access_token ?? '',
      refresh_token: rotated.body.refresh_token ?? '',
      client: briefConfig,
    });
  });
});
