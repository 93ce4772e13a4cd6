import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startUpstreamProvider, type UpstreamProvider } from '../fixtures/upstream-provider.ts';
import { type AdminApi, startAdminApi } from '../support/admin-api.ts';

/**
 * Operators manage upstream connections with `tessera connections` and the admin API: what they
 * print (the redirect URI to register, never the client secret), how bad input is refused with
 * a clear message, that a domain belongs to one connection however many ask at once, and that
 * the GITHUB_* variables define a GitHub connection of their own at start.
 */
const SECRET = 'upstream-client-secret-that-must-never-show-up';

let admin: AdminApi;
let upstream: UpstreamProvider;

beforeAll(async () => {
  upstream = await startUpstreamProvider();
  admin = await startAdminApi({
    GITHUB_CLIENT_ID: 'env-github-client',
    GITHUB_CLIENT_SECRET: 'env-github-secret-never-shown',
    GITHUB_BASE_URL: 'http://127.0.0.1:9/github',
    GITHUB_API_URL: 'http://127.0.0.1:9/github/api/v3',
  });
});

afterAll(async () => {
  await admin?.tessera.dispose();
  await upstream?.close();
});

const cli = (args: string[], stdin?: string) => admin.tessera.cli(['connections', ...args], stdin);

describe('tessera connections', () => {
  it('creates an OpenID Connect connection, prints its redirect URI, and never the secret', async () => {
    const created = await cli(
      [
        'create',
        '--type',
        'oidc',
        '--name',
        'Acme SSO',
        '--issuer',
        upstream.issuer,
        '--client-id',
        upstream.clientId,
        '--client-secret-stdin',
        '--scope',
        'email',
        '--scope',
        'profile',
        '--domain',
        'Acme.Example',
      ],
      `${SECRET}\n`,
    );
    const connection = created.json<{ id: string; redirect_uri: string }>();
    expect(connection).toMatchObject({
      type: 'oidc',
      name: 'Acme SSO',
      issuer: upstream.issuer,
      client_id: upstream.clientId,
      scopes: ['email', 'profile'],
      domains: ['acme.example'],
      trust_upstream_mfa: false,
      enabled: true,
      source: 'operator',
      redirect_uri: `${admin.tessera.issuer}/connections/${connection.id}/callback`,
    });

    const updated = (
      await cli(['update', connection.id, '--trust-upstream-mfa', '--disable', '--client-secret-stdin'], `${SECRET}-2`)
    ).json();
    expect(updated).toMatchObject({ trust_upstream_mfa: true, enabled: false, domains: ['acme.example'] });
    const shown = await cli(['show', connection.id]);
    expect(shown.json()).toEqual(updated);
    const viaApi = await admin.call('get', '/api/admin/connections');
    expect(viaApi.body).toContainEqual(updated);

    // Not in any answer, the log, or the database's rows (a backup holds them as stored).
    for (const text of [created.stdout, shown.stdout, JSON.stringify(viaApi.body), admin.tessera.logs()]) {
      expect(text).not.toContain(SECRET);
    }
    const dir = await mkdtemp(join(tmpdir(), 'tessera-connections-'));
    try {
      const file = join(dir, 'backup.gz');
      (await admin.tessera.cli(['backup', file])).json();
      const rows = gunzipSync(await readFile(file)).toString('utf8');
      expect(rows).toContain(upstream.clientId);
      expect(rows).not.toContain(SECRET);
      expect(rows).not.toContain('env-github-secret-never-shown');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    expect((await cli(['delete', connection.id])).json()).toEqual({ id: connection.id, deleted: true });
    const gone = await admin.call('get', `/api/admin/connections/${connection.id}`);
    expect(gone.body).toEqual({ error: 'not_found', error_description: `connection ${connection.id} does not exist` });
    for (const type of ['connection.created', 'connection.updated', 'connection.deleted']) {
      const audited = (await admin.call('get', `/api/admin/audit-events?type=${type}`)).body.items;
      expect(audited).toContainEqual(
        expect.objectContaining({ actor: 'cli', details: expect.objectContaining({ id: connection.id }) }),
      );
    }
  });

  it('refuses bad flags with one clear line on stderr and makes nothing', async () => {
    const base = ['create', '--type', 'oidc', '--name', 'Bad', '--client-id', 'c'];
    const cases: [string[], string | undefined, string][] = [
      [['--issuer', 'not a url', '--client-secret-stdin'], SECRET, 'issuer: must be an http or https URL'],
      [
        ['--issuer', 'http://127.0.0.1:9', '--client-secret-stdin'],
        SECRET,
        'issuer: no usable OpenID Connect discovery at http://127.0.0.1:9 (discovery: the provider could not be reached)',
      ],
      [
        ['--issuer', upstream.issuer],
        SECRET,
        '--client-secret-stdin is required (the secret is read from standard input)',
      ],
      [
        ['--issuer', upstream.issuer, '--client-secret-stdin'],
        '',
        'nothing on standard input: pipe the client secret in',
      ],
    ];
    for (const [flags, stdin, message] of cases) {
      const refused = await cli([...base, ...flags], stdin);
      expect({ code: refused.code, stdout: refused.stdout, stderr: refused.stderr.trim() }).toEqual({
        code: 1,
        stdout: '',
        stderr: `tessera: ${message}`,
      });
    }
    expect((await cli(['list'])).json<{ name: string }[]>().map((c) => c.name)).not.toContain('Bad');
  });
});

describe('the connections admin API', () => {
  it('refuses bad bodies with 400 and the field, never 500', async () => {
    for (const body of [
      {},
      { type: 'saml', name: 'X', client_id: 'c', client_secret: 's' },
      { type: 'oidc', name: 'X', client_id: 'c', client_secret: 's', issuer: 'ftp://idp.example' },
      { type: 'oidc', name: 'X', client_id: 'c', client_secret: 's', issuer: upstream.issuer, scopes: ['two words'] },
      { type: 'github', name: 'X', client_id: 'c', client_secret: 's', domains: ['not a domain'] },
      { type: 'oidc', name: 'X', client_id: 'c', client_secret: 's' },
      { type: 'oidc', name: 'X', client_id: 'c', client_secret: 's', issuer: 'javascript:alert(1)' },
      { type: 'github', name: 'X', client_id: 'c', client_secret: 's', issuer: upstream.issuer },
      { type: 'github', name: 'X', client_id: 'c', client_secret: 's', domains: 'acme.example' },
    ]) {
      const answer = await admin.call('post', '/api/admin/connections', { body });
      expect({ status: answer.status, error: answer.body.error }).toEqual({ status: 400, error: 'invalid_input' });
    }
    const unknown = await admin.call('patch', '/api/admin/connections/nope', { body: { enabled: false } });
    expect(unknown.status).toBe(404);
  });

  it('gives a domain to one connection only, however many ask for it at once', async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        admin.call('post', '/api/admin/connections', {
          body: {
            type: 'github',
            name: `Race ${i}`,
            client_id: `c${i}`,
            client_secret: SECRET,
            domains: ['race.example'],
          },
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(99);
    const listed = (await admin.call('get', '/api/admin/connections')).body as { name: string; domains: string[] }[];
    expect(listed.filter((c) => c.domains.includes('race.example'))).toHaveLength(1);
    expect(listed.filter((c) => c.name.startsWith('Race '))).toHaveLength(1);
  });

  it('is in the OpenAPI document', async () => {
    const document = (await admin.call('get', '/api/openapi.json', { as: null })).body;
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/api/admin/connections', '/api/admin/connections/{id}']),
    );
  });
});

describe('GITHUB_* variables', () => {
  it('define a GitHub connection at start, with the callback GitHub already knows, changed only through them', async () => {
    const github = (await cli(['show', 'github'])).json();
    expect(github).toMatchObject({
      id: 'github',
      type: 'github',
      name: 'GitHub',
      base_url: 'http://127.0.0.1:9/github',
      api_url: 'http://127.0.0.1:9/github/api/v3',
      client_id: 'env-github-client',
      enabled: true,
      source: 'environment',
      redirect_uri: `${admin.tessera.issuer}/github/callback`,
    });
    const refused = await cli(['update', 'github', '--disable']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('defined by the GITHUB_* variables');
    expect((await admin.call('delete', '/api/admin/connections/github')).status).toBe(409);
  });
});
