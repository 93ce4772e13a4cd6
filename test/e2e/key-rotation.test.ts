import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { connectSql } from '../support/database.ts';
import { relyingParty } from '../support/oidc-flow.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * `tessera keys rotate` on a running server: the new keys are published KEY_PUBLISH_DELAY before
 * they sign, so a resource server that caches /jwks (jose refetches at most once per cooldown)
 * never meets a key it cannot find; `--now` signs at once. Tokens signed by the old keys keep
 * verifying against /jwks. No restart.
 */
const API = 'https://api.example.test/keys';
// A resource server's refetch cooldown, scaled down from jose's 30 s; the publish delay is longer.
const COOLDOWN_MS = 6_000;
const PUBLISH_DELAY_S = 9;

let tessera: RunningTessera;
let config: oidc.Configuration;

const jwks = async () => (await (await fetch(new URL('/jwks', tessera.issuer))).json()) as JSONWebKeySet;
const issue = async () => (await oidc.clientCredentialsGrant(config, { resource: API })).access_token;
const rotate = async (...flags: string[]) =>
  (await tessera.cli(['keys', 'rotate', ...flags])).json<{ keys: { kid: string; alg: string }[] }>().keys;

beforeAll(async () => {
  tessera = await startTessera({ KEY_PUBLISH_DELAY: String(PUBLISH_DELAY_S) });
  (await tessera.cli(['apis', 'create', '--audience', API])).json();
  const machine = (await tessera.cli(['clients', 'create', '--name', 'M', '--type', 'machine', '--api', API])).json<{
    client_id: string;
    client_secret: string;
  }>();
  config = await relyingParty(tessera.issuer, machine.client_id, machine.client_secret);
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('tessera keys rotate', () => {
  it('publishes new keys long before they sign, so a caching resource server accepts every token', async () => {
    const resourceServer = createRemoteJWKSet(new URL('/jwks', tessera.issuer), { cooldownDuration: COOLDOWN_MS });
    const verify = (token: string) => jwtVerify(token, resourceServer, { issuer: tessera.issuer, audience: API });
    const oldToken = await issue();
    const oldKid = decodeProtectedHeader(oldToken).kid;
    await verify(oldToken);

    const rotated = await rotate();
    expect(rotated.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    const newKid = rotated.find((k) => k.alg === 'ES256')?.kid;
    await eventually(async () => expect((await jwks()).keys.map((k) => k.kid)).toContain(newKid), 3_000);

    // Every token issued through the switch verifies at the resource server, the first new one included.
    const kids = new Set<string | undefined>();
    const deadline = Date.now() + 3 * PUBLISH_DELAY_S * 1000;
    while (!kids.has(newKid) && Date.now() < deadline) {
      const token = await issue();
      await verify(token);
      kids.add(decodeProtectedHeader(token).kid);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect([...kids].sort()).toEqual([oldKid, newKid].sort());

    const verifier = createLocalJWKSet(await jwks());
    await expect(jwtVerify(oldToken, verifier, { issuer: tessera.issuer })).resolves.toBeTruthy();
    expect((await oidc.tokenIntrospection(config, oldToken)).active).toBe(true);
  });

  it('--now signs with the new keys at once, keeping the old ones published', async () => {
    const oldToken = await issue();
    const rotated = await rotate('--now');
    const newKid = rotated.find((k) => k.alg === 'ES256')?.kid;
    await eventually(async () => expect(decodeProtectedHeader(await issue()).kid).toBe(newKid), 3_000);
    const published = (await jwks()).keys.map((k) => k.kid);
    expect(published).toContain(decodeProtectedHeader(oldToken).kid);
    await expect(
      jwtVerify(oldToken, createLocalJWKSet(await jwks()), { issuer: tessera.issuer }),
    ).resolves.toBeTruthy();
  });

  it("still counts the tokens it issues for the console's chart after the keys changed", async () => {
    const sqlClient = await connectSql(tessera.env);
    const issuedToday = async () =>
      Number(
        (
          await sqlClient.query(
            "select coalesce(sum(n), 0) as n from daily_counts where kind = 'tokens_issued' and day = (now() at time zone 'UTC')::date",
          )
        ).rows[0].n,
      );
    try {
      // Earlier tests rotated the keys, so this provider is not the one the node started with.
      await eventually(async () => {
        const before = await issuedToday();
        await new Promise((r) => setTimeout(r, 6_000));
        expect(await issuedToday()).toBe(before);
      }, 20_000);
      const before = await issuedToday();
      for (let i = 0; i < 3; i++) await issue();
      await eventually(async () => expect(await issuedToday()).toBe(before + 3), 12_000);
    } finally {
      await sqlClient.end();
    }
  }, 60_000);
});
