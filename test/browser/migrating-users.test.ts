import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { totpCode } from '../support/account.ts';
import { freshPagePerTest } from '../support/browser.ts';
import { browserSuitePerFile, createClient } from '../support/browser-suite.ts';
import { connectSql } from '../support/database.ts';
import {
  type ClientApp,
  consentIfAsked,
  enterPassword,
  finishAtClient,
  startAuthorization,
} from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * Moving people from another system with `tessera users import`, against a running server: what
 * the command prints for JSON lines and a Keycloak export, its dry run, a second run that changes
 * nothing, and then people signing in through the login form with the password they had (bcrypt,
 * Keycloak's PBKDF2, with Keycloak's TOTP secret), their hash now Tessera's argon2id.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'imports');
const PASSWORD = 'correct horse battery staple';
const UNICODE = 'pässwörd mit Ümläuten ✓';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let page: Page;
let config: oidc.Configuration;
/** This file's import files, removed when it ends. */
let work = '';
let jsonLines = '';
const keycloakExport = join(FIXTURES, 'keycloak-realm-export.json');

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  config = (await createClient({ tessera, app }, 'Shop', 'web')).config;
  const hashes = JSON.parse(await readFile(join(FIXTURES, 'password-hashes.json'), 'utf8')) as {
    hashes: { format: string; source: string; hash: string }[];
  };
  const bcrypt = hashes.hashes.find((h) => h.source === 'python bcrypt 2b')?.hash;
  const django = hashes.hashes.find((h) => h.format === 'django-pbkdf2-sha256')?.hash;
  work = await mkdtemp(join(tmpdir(), 'tessera-import-'));
  jsonLines = join(work, 'users.jsonl');
  const users = [
    {
      email: 'ann@shop.test',
      email_verified: true,
      username: 'ann',
      name: 'Ann',
      roles: ['staff'],
      password_hash: bcrypt,
    },
    { email: 'ben@shop.test', email_verified: true, password_hash: django },
    { email: 'nobody' },
  ];
  await writeFile(jsonLines, `${users.map((u) => JSON.stringify(u)).join('\n')}\n`);
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

/** The stored hash and import mark of a user, read as an operator with psql would. */
async function storedPassword(email: string): Promise<{ password_hash: string; password_imported_at: Date | null }> {
  const client = await connectSql(tessera.env);
  try {
    const result = await client.query('select password_hash, password_imported_at from users where email = $1', [
      email,
    ]);
    return result.rows[0];
  } finally {
    await client.end();
  }
}

async function signIn(login: string, password: string, code?: string) {
  const started = await startAuthorization(page, config, app, { scope: 'openid email roles' });
  await enterPassword(page, login, password);
  if (code !== undefined) {
    await page.fill('#code', code);
    await page.getByRole('button', { name: 'Verify' }).click();
  }
  await consentIfAsked(page);
  return (await finishAtClient(page, config, app, started)).claims();
}

describe('tessera users import', () => {
  it('shows what a dry run would do, imports, and says "0 created, 0 updated, N unchanged" the second time', async () => {
    const dry = await tessera.cli(['users', 'import', jsonLines, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.json()).toMatchObject({ dry_run: true, created: 2, updated: 0, unchanged: 0, roles_created: ['staff'] });
    expect(dry.stderr).toContain('line 3: email: must be an email address\n');
    expect(dry.stderr).toContain(
      'users import: 2 created, 0 updated, 0 unchanged, 1 invalid (dry run: nothing was written)',
    );

    const first = await tessera.cli(['users', 'import', jsonLines]);
    expect(first.json()).toMatchObject({ dry_run: false, created: 2, invalid: [{ line: 3 }] });
    const again = await tessera.cli(['users', 'import', jsonLines]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('users import: 0 created, 0 updated, 2 unchanged, 1 invalid\n');
  });

  it('imports a Keycloak realm export, naming the user it cannot take', async () => {
    const imported = await tessera.cli(['users', 'import', keycloakExport, '--from', 'keycloak']);
    expect(imported.json()).toMatchObject({
      created: 5,
      invalid: [{ user: 5, username: 'erin', error: 'has no email address (Tessera signs people in by email)' }],
      roles_created: ['editor', 'manager'],
    });
    expect(imported.stderr).toContain('user 5 (erin): has no email address');
    const again = await tessera.cli(['users', 'import', keycloakExport, '--from', 'keycloak']);
    expect(again.stderr).toContain('users import: 0 created, 0 updated, 5 unchanged, 1 invalid\n');
  });

  it('prints a progress line on a long file', async () => {
    const file = join(work, 'many.jsonl');
    const users = Array.from({ length: 5_500 }, (_, i) => JSON.stringify({ email: `many${i}@shop.test` }));
    await writeFile(file, users.join('\n'));
    const imported = await tessera.cli(['users', 'import', file]);
    expect(imported.json()).toMatchObject({ created: 5_500 });
    expect(imported.stderr).toContain('users import: 5000 of 5500 users\nusers import: 5500 of 5500 users\n');
  });

  it('refuses a missing file, an unknown --from and a missing FILE on stderr with a non-zero exit', async () => {
    const missing = await tessera.cli(['users', 'import', '/nonexistent/users.jsonl']);
    expect([missing.code, missing.stdout]).toEqual([1, '']);
    expect(missing.stderr).toBe('tessera: cannot read /nonexistent/users.jsonl: ENOENT\n');
    const from = await tessera.cli(['users', 'import', jsonLines, '--from', 'ldap']);
    expect(from.code).toBe(1);
    expect(from.stderr).toContain('--from must be keycloak');
    const noFile = await tessera.cli(['users', 'import']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain('usage: tessera users import FILE');
  });

  it('records one audit event per run, with its counts, and none for a dry run', async () => {
    const client = await connectSql(tessera.env);
    try {
      const { rows } = await client.query("select details from audit_events where type = 'users.imported' order by id");
      expect(rows.map((r) => r.details)).toEqual([
        expect.objectContaining({ from: 'json-lines', created: 2, unchanged: 0, invalid: 1 }),
        expect.objectContaining({ from: 'json-lines', created: 0, unchanged: 2, invalid: 1 }),
        expect.objectContaining({ from: 'keycloak', created: 5, roles_created: ['editor', 'manager'] }),
        expect.objectContaining({ from: 'keycloak', created: 0, unchanged: 5 }),
        expect.objectContaining({ from: 'json-lines', created: 5_500 }),
      ]);
    } finally {
      await client.end();
    }
  });
});

describe('signing in with an imported password', () => {
  it.each([
    ['a bcrypt hash', 'ann', 'ann@shop.test', PASSWORD],
    ['a Django PBKDF2 hash', 'ben@shop.test', 'ben@shop.test', PASSWORD],
    ["Keycloak's PBKDF2-SHA256", 'alice', 'alice@acme.test', PASSWORD],
  ])('works with %s, which the sign-in rehashes to argon2id', async (_label, login, email, password) => {
    expect(await storedPassword(email)).toMatchObject({ password_imported_at: expect.any(Date) });
    await startAuthorization(page, config, app);
    await enterPassword(page, login, 'Tr0ub4dor&3');
    expect(await page.getByRole('alert').textContent()).toContain('Incorrect email, username or password.');
    expect((await storedPassword(email)).password_imported_at).not.toBeNull();

    expect(await signIn(login, password)).toMatchObject({ email });
    const stored = await storedPassword(email);
    expect(stored.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,/);
    expect(stored.password_imported_at).toBeNull();
  });

  it('works again after the rehash, in a new browser session', async () => {
    expect(await signIn('ann', PASSWORD)).toMatchObject({ email: 'ann@shop.test', roles: ['staff'] });
  });

  it('asks for the code of the authenticator the person set up in Keycloak', async () => {
    const secret = 'LBYTGTDNLI4HMS3QGJJHIWJXO5HGGNCC';
    expect(await signIn('bob', UNICODE, await totpCode(secret))).toMatchObject({
      email: 'bob@acme.test',
      roles: ['editor'],
    });
  });

  it('keeps a user who was disabled in Keycloak out', async () => {
    await startAuthorization(page, config, app);
    await enterPassword(page, 'dave', PASSWORD);
    expect(await page.getByRole('alert').textContent()).toContain('disabled');
  });
});
