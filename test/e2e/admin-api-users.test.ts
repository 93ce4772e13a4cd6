import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AdminApi, startAdminApi } from '../support/admin-api.ts';

/** Operators managing users through the admin API, and the audit trail that records it. */
let api: AdminApi;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  api = await startAdminApi();
  (await api.tessera.cli(['roles', 'create', 'reports.reader'])).json();
});

afterAll(async () => {
  await api?.tessera.dispose();
});

async function createUser(email: string, extra: Record<string, unknown> = {}) {
  const res = await api.call('post', '/api/admin/users', { body: { email, password: PASSWORD, ...extra } });
  expect(res.status).toBe(201);
  expect(res.headers.get('location')).toBe(`/api/admin/users/${res.body.id}`);
  return res.body as { id: string; email: string; username: string | null; roles: string[] };
}

describe('users', () => {
  it('creates, reads, changes, disables, enables and deletes a user', async () => {
    const created = await createUser('ada@example.test', { username: 'ada', name: 'Ada', roles: ['reports.reader'] });
    expect(created).toMatchObject({
      email_verified: true,
      username: 'ada',
      roles: ['reports.reader'],
      disabled: false,
    });
    expect(JSON.stringify(created)).not.toContain(PASSWORD);

    expect((await api.call('get', `/api/admin/users/${created.id}`)).body).toEqual(created);

    const patched = await api.call('patch', `/api/admin/users/${created.id}`, {
      body: { name: 'Ada Lovelace', username: 'lovelace', email_verified: false },
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Ada Lovelace', username: 'lovelace', email_verified: false });

    const disabled = await api.call('post', `/api/admin/users/${created.id}/disable`, { as: api.adminKey });
    expect(disabled.body).toMatchObject({ disabled: true });
    const enabled = await api.call('post', `/api/admin/users/${created.id}/enable`);
    expect(enabled.body).toMatchObject({ disabled: false });

    const revoked = await api.call('post', `/api/admin/users/${created.id}/revoke-sessions`);
    expect(revoked).toMatchObject({ status: 200, body: { revoked: 0 } });

    expect((await api.call('delete', `/api/admin/users/${created.id}`)).status).toBe(204);
    expect((await api.call('get', `/api/admin/users/${created.id}`)).status).toBe(404);
    expect((await api.call('delete', `/api/admin/users/${created.id}`)).status).toBe(404);
  });

  it('refuses duplicates with 409', async () => {
    await createUser('grace@example.test', { username: 'grace' });
    const sameEmail = await api.call('post', '/api/admin/users', {
      body: { email: 'GRACE@example.test', password: PASSWORD },
    });
    expect(sameEmail).toMatchObject({ status: 409, body: { error: 'conflict' } });
    const sameUsername = await api.call('post', '/api/admin/users', {
      body: { email: 'other@example.test', username: 'Grace', password: PASSWORD },
    });
    expect(sameUsername.status).toBe(409);
    const other = await createUser('hopper@example.test', { username: 'hopper' });
    const taken = await api.call('patch', `/api/admin/users/${other.id}`, { body: { username: 'GRACE' } });
    expect(taken).toMatchObject({ status: 409, body: { error: 'conflict' } });
  });

  it('pages and searches by email fragment and by username', async () => {
    for (let i = 0; i < 7; i++) await createUser(`page${i}@paging.test`, { username: `pager_${i}` });
    const pages = [];
    for (const offset of [0, 3, 6]) {
      const res = await api.call('get', `/api/admin/users?q=PAGING.test&limit=3&offset=${offset}`);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ total: 7, limit: 3, offset });
      pages.push(res.body.items.map((u: { email: string }) => u.email));
    }
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(new Set(pages.flat()).size).toBe(7);

    const byUsername = await api.call('get', '/api/admin/users?q=PAGER_4');
    expect(byUsername.body.items.map((u: { email: string }) => u.email)).toEqual(['page4@paging.test']);
    const wildcard = await api.call('get', '/api/admin/users?q=%25');
    expect(wildcard.body.total).toBe(0);
    const all = await api.call('get', '/api/admin/users');
    expect(all.body.total).toBeGreaterThanOrEqual(7);
  });

  it('sets roles, refuses an unknown one, and audits the change with before and after', async () => {
    const user = await createUser('roles@example.test', { roles: ['reports.reader'] });
    const set = await api.call('put', `/api/admin/users/${user.id}/roles`, { body: { roles: ['admin'] } });
    expect(set).toMatchObject({ status: 200, body: { roles: ['admin'] } });
    expect((await api.call('get', `/api/admin/users/${user.id}`)).body.roles).toEqual(['admin']);

    const unknown = await api.call('put', `/api/admin/users/${user.id}/roles`, { body: { roles: ['nope'] } });
    expect(unknown).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect((await api.call('get', `/api/admin/users/${user.id}`)).body.roles).toEqual(['admin']);

    const events = await api.call('get', `/api/admin/audit-events?type=user.roles_changed&user_id=${user.id}`);
    expect(events.status).toBe(200);
    expect(events.body.total).toBe(1);
    expect(events.body.items[0]).toMatchObject({
      type: 'user.roles_changed',
      user_id: user.id,
      actor: expect.stringMatching(/^user:/),
      details: { before: ['reports.reader'], after: ['admin'] },
    });

    const byUser = await api.call('get', `/api/admin/audit-events?user_id=${user.id}`);
    expect(byUser.body.items.map((e: { type: string }) => e.type)).toEqual(['user.roles_changed', 'user.created']);
  });
});

describe('the last admin', () => {
  type Listed = { id: string; roles: string[]; disabled: boolean };
  const enabledAdmins = async () =>
    ((await api.call('get', '/api/admin/users?limit=100')).body.items as Listed[]).filter(
      (u) => u.roles.includes('admin') && !u.disabled,
    );

  it('stays, however many requests take the role, disable or delete admins at the same moment', async () => {
    for (let i = 1; i <= 8; i++) await createUser(`root${i}@example.test`, { roles: ['admin'] });
    const admins = await enabledAdmins();
    expect(admins.length).toBeGreaterThanOrEqual(8);
    const removals = [
      (id: string) => api.call('put', `/api/admin/users/${id}/roles`, { body: { roles: [] } }),
      (id: string) => api.call('post', `/api/admin/users/${id}/disable`),
      (id: string) => api.call('delete', `/api/admin/users/${id}`),
    ];
    const answers = await Promise.all(
      Array.from({ length: 120 }, (_, i) => {
        const target = admins[i % admins.length]?.id ?? '';
        const remove = removals[Math.floor(i / admins.length) % removals.length];
        return remove?.(target);
      }),
    );
    for (const answer of answers) {
      expect([200, 204, 404, 409]).toContain(answer?.status);
      if (answer?.status === 409)
        expect(answer.body.error_description).toContain('no enabled user with the admin role');
    }
    expect(answers.filter((a) => a?.status === 409).length).toBeGreaterThan(0);
    // Each admin but one was removed by whichever request came first while another was left.
    const [last, ...others] = await enabledAdmins();
    expect(others).toEqual([]);
    expect(admins.map((a) => a.id)).toContain(last?.id);

    for (const remove of removals) {
      expect(await remove(last?.id ?? '')).toMatchObject({ status: 409, body: { error: 'conflict' } });
    }
    expect((await enabledAdmins()).map((a) => a.id)).toEqual([last?.id]);

    // With the role given to someone else first, the last one may go.
    const successor = await createUser('successor@example.test', { roles: ['admin'] });
    expect((await api.call('post', `/api/admin/users/${last?.id}/disable`)).status).toBe(200);
    expect((await enabledAdmins()).map((a) => a.id)).toEqual([successor.id]);
  });
});

describe('audit events', () => {
  it('filters by time, pages newest first, and rejects bad dates', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await api.call('get', `/api/admin/audit-events?from=${future}`)).body).toMatchObject({
      items: [],
      total: 0,
    });
    const past = await api.call('get', `/api/admin/audit-events?to=${future}&limit=2`);
    expect(past.body.items).toHaveLength(2);
    const [newer, older] = past.body.items as { at: string }[];
    expect(Date.parse(newer?.at ?? '')).toBeGreaterThanOrEqual(Date.parse(older?.at ?? ''));

    const bad = await api.call('get', '/api/admin/audit-events?from=yesterday');
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_input' } });
    expect(bad.body.error_description).toContain('from');
  });
});

describe('the server', () => {
  it('never answered with a 5xx during these tests', () => {
    expect(api.tessera.logs()).toMatch(/"status":4\d\d/);
    expect(api.tessera.logs()).not.toMatch(/"status":5\d\d|request failed/);
  });
});
