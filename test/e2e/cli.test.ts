import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { relyingParty } from '../support/oidc-flow.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * The operator's command line against a running server: what it prints, how it refuses bad
 * input, and that the server sees each change without a restart.
 */
const API = 'https://api.example.test/cli';
// A failed Basic authentication answers 401 with a WWW-Authenticate challenge (RFC 6749 §5.2).
const INVALID_CLIENT = {
  status: 401,
  cause: [expect.objectContaining({ parameters: expect.objectContaining({ error: 'invalid_client' }) })],
};

let tessera: RunningTessera;

async function tokenFor(clientId: string, secret: string) {
  const config = await relyingParty(tessera.issuer, clientId, secret);
  return oidc.clientCredentialsGrant(config, { resource: API });
}

beforeAll(async () => {
  tessera = await startTessera();
  (await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'cli:read'])).json();
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('tessera clients', () => {
  it('creates, shows, lists, rotates and deletes a client, and the running server follows each step', async () => {
    const created = (
      await tessera.cli(['clients', 'create', '--name', 'Reporter', '--type', 'machine', '--api', API])
    ).json<{
      client_id: string;
      client_secret: string;
      type: string;
    }>();
    expect(created).toMatchObject({ type: 'machine', name: 'Reporter', redirect_uris: [] });
    expect(created.client_secret.length).toBeGreaterThanOrEqual(40);
    expect((await tokenFor(created.client_id, created.client_secret)).access_token).toBeTruthy();

    const shown = (await tessera.cli(['clients', 'show', created.client_id])).json();
    expect(shown).toMatchObject({ client_id: created.client_id, name: 'Reporter' });
    expect(shown).not.toHaveProperty('client_secret');
    const listed = (await tessera.cli(['clients', 'list'])).json<{ client_id: string }[]>();
    expect(listed.map((c) => c.client_id)).toContain(created.client_id);

    const rotated = (await tessera.cli(['clients', 'rotate-secret', created.client_id])).json<{
      client_secret: string;
    }>();
    expect(rotated.client_secret).not.toBe(created.client_secret);
    await eventually(async () => {
      await expect(tokenFor(created.client_id, created.client_secret)).rejects.toMatchObject(INVALID_CLIENT);
    });
    expect((await tokenFor(created.client_id, rotated.client_secret)).access_token).toBeTruthy();

    (await tessera.cli(['clients', 'delete', created.client_id])).json();
    await eventually(async () => {
      await expect(tokenFor(created.client_id, rotated.client_secret)).rejects.toMatchObject(INVALID_CLIENT);
    });
    const gone = await tessera.cli(['clients', 'show', created.client_id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`client ${created.client_id} does not exist`);
  });

  it('prints a secret for web clients but not for spa clients', async () => {
    const web = (
      await tessera.cli([
        'clients',
        'create',
        '--name',
        'W',
        '--type',
        'web',
        '--redirect-uri',
        'https://app.example/cb',
      ])
    ).json();
    const spa = (
      await tessera.cli([
        'clients',
        'create',
        '--name',
        'S',
        '--type',
        'spa',
        '--redirect-uri',
        'https://app.example/cb',
      ])
    ).json();
    expect(web).toHaveProperty('client_secret');
    expect(spa).not.toHaveProperty('client_secret');
    const refused = await tessera.cli(['clients', 'rotate-secret', String(spa.client_id)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('spa clients are public and have no secret');
  });

  it.each([
    [['--name', 'X', '--type', 'desktop'], 'type: must be web, spa, machine or device'],
    [['--name', 'X', '--type', 'web'], 'redirect_uris: a web client needs at least one'],
    [
      ['--name', 'X', '--type', 'spa', '--redirect-uri', 'http://example.com/cb'],
      'must be https (or http on localhost)',
    ],
    [['--name', 'X', '--type', 'web', '--redirect-uri', 'https://a.example/cb#frag'], 'have no #fragment'],
    [['--name', 'X', '--type', 'web', '--redirect-uri', 'not a url'], 'must be an absolute URL'],
    [
      ['--name', 'X', '--type', 'machine', '--redirect-uri', 'https://a.example/cb'],
      'machine clients have no redirect URIs',
    ],
    [
      ['--name', 'X', '--type', 'device', '--redirect-uri', 'https://a.example/cb'],
      'device clients have no redirect URIs',
    ],
    [
      ['--name', 'X', '--type', 'web', '--redirect-uri', 'https://a.example/cb', '--backchannel-logout-uri', 'nope'],
      'backchannel_logout_uri: must be an absolute URL',
    ],
    [['--type', 'machine'], 'name: is required'],
    [['--name', 'X', '--type', 'machine', '--role', 'no-such-role'], 'role no-such-role does not exist'],
    [
      ['--name', 'X', '--type', 'web', '--redirect-uri', 'https://a.example/cb', '--refresh-grace', 'soon'],
      '--refresh-grace must be a whole number of seconds',
    ],
    [
      ['--name', 'X', '--type', 'web', '--redirect-uri', 'https://a.example/cb', '--refresh-grace', '61'],
      'refresh_grace_seconds: must be at most 60',
    ],
  ])('refuses %j with a clear message and writes nothing', async (args, message) => {
    const before = (await tessera.cli(['clients', 'list'])).json<unknown[]>().length;
    const result = await tessera.cli(['clients', 'create', ...args]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect((await tessera.cli(['clients', 'list'])).json<unknown[]>()).toHaveLength(before);
  });

  it('answers an unknown flag or command with usage and exit code 2', async () => {
    const flag = await tessera.cli(['clients', 'create', '--nmae', 'X']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--nmae'");
    expect(flag.stderr).toContain('usage: tessera clients create');
    const command = await tessera.cli(['frobnicate']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command: frobnicate');
  });

  it('prints the usage asked for with --help or -h, for one group or one command', async () => {
    const group = await tessera.cli(['clients', '--help']);
    expect(group.code).toBe(0);
    const lines = group.stdout.trim().split('\n').slice(1);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.every((line) => line.startsWith('  tessera clients '))).toBe(true);
    const one = await tessera.cli(['users', 'create', '-h']);
    expect(one).toMatchObject({ code: 0, stderr: '' });
    expect(one.stdout.trim().split('\n')).toEqual([
      'usage:',
      expect.stringMatching(/^ {2}tessera users create --email E/),
    ]);
  });
});

describe('tessera users, roles and apis', () => {
  it('creates a user from a password on stdin, and refuses a duplicate email in any case', async () => {
    const user = (
      await tessera.cli(
        ['users', 'create', '--email', 'Grace@Example.test', '--name', 'Grace', '--password-stdin'],
        'long enough password\n',
      )
    ).json();
    expect(user).toMatchObject({ email: 'Grace@Example.test', email_verified: true, roles: [], disabled: false });
    const again = await tessera.cli(
      ['users', 'create', '--email', 'grace@example.test', '--password-stdin'],
      'another password\n',
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('a user with that email already exists');
  });

  it('refuses a short password, a missing --password-stdin and a bad email', async () => {
    const short = await tessera.cli(['users', 'create', '--email', 'a@example.test', '--password-stdin'], 'short\n');
    expect(short.stderr).toContain('password: must be at least 8 characters');
    const noStdin = await tessera.cli(['users', 'create', '--email', 'a@example.test']);
    expect(noStdin.stderr).toContain('--password-stdin is required');
    const email = await tessera.cli(
      ['users', 'create', '--email', 'not-an-email', '--password-stdin'],
      'long enough password\n',
    );
    expect(email.stderr).toContain('email: must be an email address');
    for (const r of [short, noStdin, email]) expect(r.code).toBe(1);
  });

  it('sets roles and disables a user', async () => {
    (await tessera.cli(['roles', 'create', 'auditor', '--description', 'Reads the audit log'])).json();
    const user = (
      await tessera.cli(
        ['users', 'create', '--email', 'lin@example.test', '--password-stdin'],
        'long enough password\n',
      )
    ).json<{
      id: string;
    }>();
    const updated = (await tessera.cli(['users', 'set-roles', user.id, 'auditor', 'admin'])).json();
    expect(updated).toMatchObject({ id: user.id, roles: ['admin', 'auditor'] });
    expect((await tessera.cli(['users', 'disable', user.id])).json()).toEqual({ id: user.id, disabled: true });
    const missing = await tessera.cli(['users', 'disable', 'no-such-user']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('user no-such-user does not exist');
  });

  it('refuses a duplicate role and a duplicate API audience', async () => {
    const role = await tessera.cli(['roles', 'create', 'admin']);
    expect(role.stderr).toContain('role admin already exists');
    const api = await tessera.cli(['apis', 'create', '--audience', API]);
    expect(api.stderr).toContain(`an API with audience ${API} already exists`);
    const reserved = await tessera.cli(['apis', 'create', '--audience', 'https://other.example', '--scope', 'openid']);
    expect(reserved.stderr).toContain('must not reuse an OpenID scope');
  });
});
