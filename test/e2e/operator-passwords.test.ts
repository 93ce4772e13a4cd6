import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AdminApi, startAdminApi } from '../support/admin-api.ts';

/**
 * Passwords an operator sets follow the same policy as sign-up: `tessera users create` and
 * `POST /api/admin/users` refuse a common or guessable password with the reason, and create nothing.
 */
let api: AdminApi;

beforeAll(async () => {
  api = await startAdminApi();
});

afterAll(async () => {
  await api?.tessera.dispose();
});

const COMMON = 'This is a commonly used password.';
const PERSONAL = 'Avoid your name, email address or the name of this site.';

describe('tessera users create', () => {
  it('refuses a common password and one made of the user’s own name, and creates nothing', async () => {
    for (const [email, password, reason] of [
      ['pat@example.test', 'password123', COMMON],
      ['maria.gonzalez@example.test', 'maria.gonzalez1', PERSONAL],
    ]) {
      const result = await api.tessera.cli(['users', 'create', '--email', email, '--password-stdin'], `${password}\n`);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`password: ${reason}`);
      expect(result.stderr).not.toContain(password);
    }
    expect((await api.call('get', '/api/admin/users')).body.total).toBe(0);
    const good = await api.tessera.cli(
      ['users', 'create', '--email', 'pat@example.test', '--password-stdin'],
      'seven brass owls guard the orchard\n',
    );
    expect(good.json()).toMatchObject({ email: 'pat@example.test' });
  });
});

describe('POST /api/admin/users', () => {
  it('answers a weak password with 400 invalid_input and the reason, and creates nothing', async () => {
    const weak = await api.call('post', '/api/admin/users', {
      body: { email: 'lee@example.test', username: 'lee.park', name: 'Lee Park', password: 'qwertyuiop' },
    });
    expect(weak.status).toBe(400);
    expect(weak.body).toEqual({
      error: 'invalid_input',
      error_description: expect.stringMatching(/^password: This is a frequently used password\./),
    });
    const personal = await api.call('post', '/api/admin/users', {
      body: { email: 'lee@example.test', username: 'lee.park', name: 'Lee Park', password: 'lee.park2024' },
    });
    expect(personal).toMatchObject({
      status: 400,
      body: { error_description: `password: ${PERSONAL} Try a longer passphrase of a few unrelated words.` },
    });
    expect((await api.call('get', '/api/admin/users?q=lee')).body.total).toBe(0);
    const good = await api.call('post', '/api/admin/users', {
      body: { email: 'lee@example.test', password: 'seven brass owls guard the orchard' },
    });
    expect(good.status).toBe(201);
  });
});
