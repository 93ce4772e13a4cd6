import { beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { type BrowserSuite, browserSuitePerFile, createUser } from '../support/browser-suite.ts';
import { cookieJar } from '../support/form-client.ts';
import { enterPassword, relyingParty } from '../support/oidc-flow.ts';

/**
 * The device authorization grant (RFC 8628), as a TV app or a CLI uses it with openid-client: the
 * device shows a code, a person types it at /device in a browser, signs in and consents there, and
 * the device's polling receives tokens. User codes cannot be guessed at speed, and one code signs
 * in one person however many confirm it at once.
 */
const PASSWORD = 'the remote is under the cushion';

let suite: BrowserSuite;
let config: oidc.Configuration;
let clientId: string;

browserSuitePerFile(
  (s) => {
    suite = s;
  },
  // Behind a proxy, so the tests below can post from many addresses (X-Forwarded-For).
  { TRUST_PROXY: 'true' },
);

beforeAll(async () => {
  await createUser(suite.tessera, { username: 'noor', password: PASSWORD });
  const created = await suite.tessera.cli(['clients', 'create', '--name', 'Living Room TV', '--type', 'device']);
  const client = created.json<{ client_id: string; client_secret?: string; type: string }>();
  expect(client).toMatchObject({ type: 'device' });
  expect(client.client_secret).toBeUndefined();
  clientId = client.client_id;
  config = await relyingParty(suite.tessera.issuer, clientId);
});

/**
 * A browser session at /device, as a script: its cookies and the form's xsrf token. `path` is
 * where it posts: /device in any letter case, with or without a trailing slash, is the same page.
 */
async function deviceForm(address: string, path = '/device') {
  const request = cookieJar();
  const headers = { 'x-forwarded-for': address, accept: 'text/html' };
  const html = await (await request(new URL('/device', suite.tessera.issuer), { headers })).text();
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  expect(xsrf).not.toBe('');
  return (fields: Record<string, string>) =>
    request(new URL(path, suite.tessera.issuer), {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, ...fields }),
    });
}

/** A person types the device's code at /device, signs in and allows it, in a browser of their own. */
async function approveInBrowser(started: oidc.DeviceAuthorizationResponse) {
  const context = await suite.browser.newContext();
  const page = await context.newPage();
  await page.goto(started.verification_uri);
  await page.getByLabel('Code').fill(started.user_code);
  await page.getByRole('button', { name: 'Continue' }).click();
  expect(await page.textContent('h1')).toBe('Connect Living Room TV?');
  expect(await page.textContent('#user-code')).toBe(started.user_code);
  await page.getByRole('button', { name: 'Continue' }).click();
  await enterPassword(page, 'noor', PASSWORD);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForSelector('text=Your device is connected');
  await context.close();
}

describe('the device flow', () => {
  it('signs a device in once a person types its code at /device, signs in and consents', async () => {
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' });
    expect(started.verification_uri).toBe(new URL('/device', suite.tessera.issuer).href);
    const polling = oidc.pollDeviceAuthorizationGrant(config, started);

    await approveInBrowser(started);

    const tokens = await polling;
    expect(tokens.claims()).toMatchObject({ aud: clientId, preferred_username: 'noor' });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub ?? '');
    expect(userinfo.preferred_username).toBe('noor');
  });

  it('shows the code from the complete link filled in, and a person who cancels denies the device', async () => {
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
    const page = await suite.browser.newPage();
    await page.goto(started.verification_uri_complete ?? '');
    expect(await page.getByLabel('Code').inputValue()).toBe(started.user_code);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForSelector('text=You cancelled. The device was not connected.');
    await page.close();
    await expect(oidc.pollDeviceAuthorizationGrant(config, started)).rejects.toMatchObject({ error: 'access_denied' });
  });

  it('lets one of 100 people confirming the same code at once go on to sign in', async () => {
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
    const forms = await Promise.all(Array.from({ length: 100 }, (_, i) => deviceForm(`198.51.100.${i + 1}`)));
    const answers = await Promise.all(forms.map((post) => post({ user_code: started.user_code, confirm: 'yes' })));
    const onToSignIn = answers.filter((res) => res.headers.get('location')?.includes('/interaction/'));
    expect(onToSignIn).toHaveLength(1);
    const others = answers.filter((res) => !res.headers.get('location'));
    expect(others).toHaveLength(99);
    for (const res of others) expect(await res.text()).toContain('already been used');
  });

  it('gives tokens to one of 100 polls presenting an approved device code at once', async () => {
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid' });
    await approveInBrowser(started);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(new URL('/token', suite.tessera.issuer), {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
            device_code: started.device_code,
            client_id: clientId,
          }),
        }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(99);
  });

  it('refuses more than 20 codes from one address in 15 minutes, however many arrive at once', async () => {
    const post = await deviceForm('203.0.113.9');
    const guesses = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        post({ user_code: `BCDF${String(i).padStart(4, '0').replace(/\d/g, 'G')}` }),
      ),
    );
    const refused = guesses.filter((res) => res.status === 429);
    expect(guesses.length - refused.length).toBe(20);
    for (const res of refused) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused[0]?.text()).toContain('Too many codes were tried');
  });

  it('counts codes posted to /device spelled in another case or with a trailing slash against the same limit', async () => {
    const spellings = ['/DEVICE', '/Device/', '/device/'];
    const posts = await Promise.all(spellings.map((path) => deviceForm('203.0.113.10', path)));
    const guesses = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        posts[i % posts.length]?.({ user_code: `CDFG${String(i).padStart(4, '0').replace(/\d/g, 'H')}` }),
      ),
    );
    const refused = guesses.filter((res) => res?.status === 429);
    expect(refused).toHaveLength(100);
    expect(await refused[0]?.text()).toContain('Too many codes were tried');
  });

  it('counts the address the proxy saw, not one the client put in front of it in X-Forwarded-For', async () => {
    // The proxy appends the address it saw; what comes before it is whatever the client sent.
    const posts = await Promise.all(
      Array.from({ length: 120 }, (_, i) => deviceForm(`198.51.100.${i + 1}, 203.0.113.12`)),
    );
    const guesses = await Promise.all(
      posts.map((post, i) => post({ user_code: `DFGH${String(i).padStart(4, '0').replace(/\d/g, 'J')}` })),
    );
    expect(guesses.filter((res) => res.status !== 429)).toHaveLength(20);
  });

  it('answers codes posted without the page (no session, so no form token) with 400, spending none of the limit', async () => {
    const address = '203.0.113.11';
    const bare = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(new URL('/device', suite.tessera.issuer), {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'text/html',
            'x-forwarded-for': address,
          },
          body: new URLSearchParams({ user_code: 'BCDFGHJK' }),
        }),
      ),
    );
    expect(bare.map((res) => res.status)).toEqual(Array(100).fill(400));
    expect(await bare[0]?.text()).toContain('This form has expired');
    // The address's 20 attempts are all still there for a person at the page.
    const post = await deviceForm(address);
    const guesses = await Promise.all(Array.from({ length: 21 }, () => post({ user_code: 'BCDFGHJK' })));
    expect(guesses.filter((res) => res.status === 429)).toHaveLength(1);
  });

  it('shows its own input page for a link with the code given twice, never a page that posts by script', async () => {
    const res = await fetch(new URL('/device?user_code=BCDF-GHJK&user_code=KLMN-PQRS', suite.tessera.issuer), {
      headers: { accept: 'text/html' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('value="BCDF-GHJK"');
  });
});
