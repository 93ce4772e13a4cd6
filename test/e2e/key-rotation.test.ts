import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { relyingParty } from '../support/oidc-flow.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * `tessera keys rotate` on a running server: the new keys are published before they sign, then
 * sign, and tokens signed by the old keys keep verifying against /jwks. No restart.
 */
const API = 'https://api.example.test/keys';

let tessera: RunningTessera;
let config: oidc.Configuration;

const jwks = async () => (await (await fetch(new URL('/jwks', tessera.issuer))).json()) as JSONWebKeySet;
const issue = async () => (await oidc.clientCredentialsGrant(config, { resource: API })).access_token;

beforeAll(async () => {
  tessera = await startTessera();
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
  it('publishes new keys first, signs with them after, and keeps old tokens verifiable', async () => {
    const before = await jwks();
    expect(before.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    const oldToken = await issue();
    const oldKid = decodeProtectedHeader(oldToken).kid;

    const { keys: rotated } = (await tessera.cli(['keys', 'rotate'])).json<{ keys: { kid: string; alg: string }[] }>();
    expect(rotated.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    const newKid = rotated.find((k) => k.alg === 'ES256')?.kid;

    // Published within a poll, while tokens are still signed by the old key.
    await eventually(async () => expect((await jwks()).keys.map((k) => k.kid)).toContain(newKid), 3_000);
    expect(decodeProtectedHeader(await issue()).kid).toBe(oldKid);

    // Then the new key takes over, and the old one stays published.
    await eventually(async () => expect(decodeProtectedHeader(await issue()).kid).toBe(newKid), 15_000);
    const after = await jwks();
    expect(after.keys).toHaveLength(4);
    const verifier = createLocalJWKSet(after);
    await expect(jwtVerify(oldToken, verifier, { issuer: tessera.issuer })).resolves.toBeTruthy();
    await expect(jwtVerify(await issue(), verifier, { issuer: tessera.issuer })).resolves.toBeTruthy();
    expect((await oidc.tokenIntrospection(config, oldToken)).active).toBe(true);
  });
});
