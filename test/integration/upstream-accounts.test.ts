import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import { findUserById, insertUser } from '../../db/repositories/users.ts';
import { pendingSignupDeadline } from '../../server/accounts/pending-signups.ts';
import { syncEnvironmentGitHub } from '../../server/connections/environment-github.ts';
import type { UpstreamIdentity } from '../../server/federation/upstream.ts';
import { accountForUpstream } from '../../server/federation/upstream-accounts.ts';
import { createSecrets } from '../../server/secrets.ts';
import { migratedDatabasePerFile, TEST_SECRET_KEY } from '../support/database.ts';

/**
 * Which account an upstream identity is, by GitHub's linking rules: keyed by (connection, sub);
 * no silent merge into an account that holds the address; a verified upstream address wins over
 * a sign-up never verified; an unverified upstream address makes no account; and 100 first
 * visits of one identity at once make one account.
 */
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

const identity = (subject: string, email: string, extra: Partial<UpstreamIdentity> = {}): UpstreamIdentity => ({
  subject,
  email,
  emailVerified: true,
  name: null,
  username: null,
  amr: [],
  acr: undefined,
  ...extra,
});

const localUser = (email: string, pending = false) =>
  insertUser(db, {
    id: randomUUID(),
    email,
    username: pending ? null : email.split('@')[0],
    pending_username: pending ? email.split('@')[0] : null,
    pending_until: pending ? pendingSignupDeadline(new Date()) : null,
    name: null,
    password_hash: 'x',
    email_verified: !pending,
  });

describe('accountForUpstream', () => {
  it('keys an identity by connection and sub: the same sub of another connection is someone else', async () => {
    const first = await accountForUpstream(db, 'conn-a', identity('s1', 'one@a.example'));
    expect(first.kind).toBe('created');
    const again = await accountForUpstream(db, 'conn-a', identity('s1', 'renamed@a.example'));
    expect(again).toMatchObject({ kind: 'linked', user: { id: first.kind === 'created' ? first.user.id : '' } });
    const other = await accountForUpstream(db, 'conn-b', identity('s1', 'one@a.example'));
    expect(other.kind).toBe('email_taken');
  });

  it("unlinks the GITHUB_* connection's identities when the variables point at another GitHub", async () => {
    const secrets = createSecrets(TEST_SECRET_KEY);
    const at = (baseUrl: string, apiUrl: string) => ({ clientId: 'c', clientSecret: 's', baseUrl, apiUrl });
    await syncEnvironmentGitHub(db, secrets, at('https://github.com', 'https://api.github.com'));
    const octo = await accountForUpstream(db, 'github', identity('4242', 'octo@github.example'));
    expect(octo.kind).toBe('created');
    const octoId = octo.kind === 'created' ? octo.user.id : '';

    // Restarted with the same GitHub (a new secret, another API spelling): still linked.
    await syncEnvironmentGitHub(db, secrets, at('https://github.com/', 'https://api.github.com/'));
    expect(await accountForUpstream(db, 'github', identity('4242', 'x@y.example'))).toMatchObject({
      kind: 'linked',
      user: { id: octoId },
    });
    // A GitHub Enterprise numbers its people anew: its 4242 is someone else.
    await syncEnvironmentGitHub(db, secrets, at('https://ghe.acme.example', 'https://ghe.acme.example/api/v3'));
    const stranger = await accountForUpstream(db, 'github', identity('4242', 'stranger@acme.example'));
    expect(stranger.kind).toBe('created');
    expect(stranger.kind === 'created' && stranger.user.id).not.toBe(octoId);
  });

  it('does not merge into an account that holds the address, but replaces a sign-up never verified', async () => {
    const owner = await localUser('owner@b.example');
    expect(await accountForUpstream(db, 'conn-a', identity('s2', 'owner@b.example'))).toMatchObject({
      kind: 'email_taken',
      user: { id: owner.id },
      linkedElsewhere: false,
    });
    const squatter = await localUser('squat@b.example', true);
    const taken = await accountForUpstream(db, 'conn-a', identity('s3', 'squat@b.example'));
    expect(taken).toMatchObject({ kind: 'created', replaced: squatter.id, user: { email_verified: true } });
    expect(await findUserById(db, squatter.id)).toBeUndefined();
  });

  it('makes no account from an address the upstream did not verify', async () => {
    await expect(
      accountForUpstream(db, 'conn-a', identity('s4', 'unverified@c.example', { emailVerified: false })),
    ).resolves.toEqual({ kind: 'no_verified_email' });
  });

  it('makes one account for 100 first visits of one identity at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, () => accountForUpstream(db, 'conn-a', identity('s5', 'many@d.example'))),
    );
    const ids = new Set(results.map((r) => ('user' in r ? r.user.id : r.kind)));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
  });
});
