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
 * that is a reuse the whole grant is revoked, so no second chain of tokens ever lives.
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

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  user = await createUser(tessera, { username: 'grace', password: PASSWORD });
  web = (
    await tessera.cli(['clients', 'create', '--name', 'Ledger', '--type', 'web', '--redirect-uri', app.redirectUri])
  ).json();
  config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

/** Signs in through the pages and returns the code the client receives, not yet redeemed. */
async function codeFromSignIn(): Promise<{ callback: URL; verifier: string; state: string }> {
  return codeThroughPages(page, config, {
    app,
    login: 'grace',
    password: PASSWORD,
    scope: 'openid offline_access',
    extra: { prompt: 'consent' },
  });
}

/** A token request as a client sends it, without openid-client's checks, so every answer is seen. */
async function tokenRequest(params: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(new URL('/token', tessera.issuer), {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${web.client_id}:${web.client_secret}`).toString('base64')}`,
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

async function expectRevoked(tokens: { access_token: string; refresh_token: string }) {
  expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).toBe(false);
  expect((await oidc.tokenIntrospection(config, tokens.refresh_token)).active).toBe(false);
  await expect(oidc.refreshTokenGrant(config, tokens.refresh_token)).rejects.toMatchObject({ error: 'invalid_grant' });
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
