import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { enrolTotp, openAccount } from '../support/account.ts';
import { type AdminApi, startAdminApi } from '../support/admin-api.ts';
import { launchBrowser } from '../support/browser.ts';

/**
 * An operator resetting a user's two-step verification (a lost phone and no recovery codes): the
 * factor and codes go, the user's sessions end, and the audit trail says who did it.
 */
let api: AdminApi;
let browser: Browser;
const PASSWORD = 'seven otters under one bridge';

beforeAll(async () => {
  [api, browser] = await Promise.all([startAdminApi(), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await api?.tessera.dispose();
});

describe('resetting a user’s two-step verification', () => {
  it('refuses callers without credentials or the admin role, and unknown users', async () => {
    const user = await api.call('post', '/api/admin/users', {
      body: { email: 'nia@example.test', password: PASSWORD },
    });
    expect(user.status).toBe(201);
    const path = `/api/admin/users/${user.body.id}/mfa/reset`;
    expect((await api.call('post', path, { as: null })).status).toBe(401);
    expect((await api.call('post', path, { as: api.userToken })).status).toBe(403);
    const unknown = await api.call('post', `/api/admin/users/${randomUUID()}/mfa/reset`);
    expect(unknown).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it('removes the factor and ends the user’s sessions, audited with the operator', async () => {
    const created = await api.call('post', '/api/admin/users', {
      body: { email: 'ines@example.test', username: 'ines', password: PASSWORD },
    });
    const id = created.body.id as string;
    const page = await openAccount(browser, api.tessera.issuer, 'ines', PASSWORD);
    const { codes } = await enrolTotp(page, PASSWORD);
    expect(codes).toHaveLength(10);

    const reset = await api.call('post', `/api/admin/users/${id}/mfa/reset`, { as: api.adminKey });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual(created.body);

    // The session that enrolled is gone...
    await page.goto(new URL('/account', api.tessera.issuer).href);
    expect(await page.textContent('h1')).toBe('Sign in to manage your account');
    await page.context().close();
    // ...and signing in again asks for the password only, with two-step verification off.
    const again = await openAccount(browser, api.tessera.issuer, 'ines', PASSWORD);
    expect(await again.getByRole('button', { name: 'Set up two-step verification' }).count()).toBe(1);
    await again.context().close();

    const events = await api.call('get', `/api/admin/audit-events?type=mfa.reset&user_id=${id}`);
    expect(events.body.total).toBe(1);
    expect(events.body.items[0]).toMatchObject({
      type: 'mfa.reset',
      user_id: id,
      actor: expect.stringMatching(/^api_key:/),
      details: { had_totp: true, revoked: expect.any(Number) },
    });
    expect(events.body.items[0].details.revoked).toBeGreaterThan(0);

    // Resetting someone without a factor is harmless, and said so in the trail.
    expect((await api.call('post', `/api/admin/users/${id}/mfa/reset`)).status).toBe(200);
    const second = await api.call('get', `/api/admin/audit-events?type=mfa.reset&user_id=${id}`);
    expect(second.body.items[0]).toMatchObject({
      actor: expect.stringMatching(/^user:/),
      details: { had_totp: false },
    });
  });

  it('never answered with a 5xx', () => {
    expect(api.tessera.logs()).not.toMatch(/"status":5\d\d|request failed/);
  });
});
