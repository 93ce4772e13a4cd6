import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { createProtectedApi } from '../../examples/protected-api.ts';
import { relyingParty } from '../support/oidc-flow.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/** The README's "Protecting your own API" example, run in this process against a live Tessera. */
const REPORTS = 'https://api.example.test/reports';
const BILLING = 'https://api.example.test/billing';
const ROLE = 'reports.reader';

interface MachineClient {
  client_id: string;
  client_secret: string;
}

let tessera: RunningTessera;
let api: Server;
let apiUrl: string;
let reader: MachineClient;
let stranger: MachineClient;
let bound: MachineClient;

async function tokenFor(client: MachineClient, resource?: string): Promise<string> {
  const config = await relyingParty(tessera.issuer, client.client_id, client.client_secret);
  return (await oidc.clientCredentialsGrant(config, resource ? { resource } : {})).access_token;
}

async function getReports(authorization?: string) {
  const res = await fetch(`${apiUrl}/reports`, { headers: authorization ? { authorization } : {} });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.json() };
}

beforeAll(async () => {
  tessera = await startTessera();
  (await tessera.cli(['roles', 'create', ROLE])).json();
  (await tessera.cli(['apis', 'create', '--audience', REPORTS, '--scope', 'reports:read'])).json();
  (await tessera.cli(['apis', 'create', '--audience', BILLING, '--scope', 'billing:read'])).json();
  const machine = async (name: string, ...extra: string[]) =>
    (
      await tessera.cli(['clients', 'create', '--name', name, '--type', 'machine', '--scope', 'reports:read', ...extra])
    ).json<MachineClient>();
  reader = await machine('Nightly report', '--role', ROLE, '--api', BILLING);
  stranger = await machine('Unprivileged job');
  bound = await machine('Sender-constrained job', '--role', ROLE, '--require-dpop');

  api = createProtectedApi({ issuer: tessera.issuer, audience: REPORTS, requiredRole: ROLE }).listen(0, '127.0.0.1');
  await new Promise((resolve) => api.once('listening', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (api) {
    await new Promise((resolve) => {
      api.close(resolve);
      api.closeAllConnections();
    });
  }
  await tessera?.dispose();
});

describe('the protected API example', () => {
  it('answers a token carrying the required role with the reports and the caller', async () => {
    const res = await getReports(`Bearer ${await tokenFor(reader, REPORTS)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ reports: expect.any(Array), caller: reader.client_id });
  });

  it('answers a valid token without the role with 403 insufficient_scope', async () => {
    const res = await getReports(`Bearer ${await tokenFor(stranger, REPORTS)}`);
    expect(res.status).toBe(403);
    expect(res.challenge).toMatch(/^Bearer /);
    expect(res.challenge).toContain('error="insufficient_scope"');
    expect(res.body).toEqual({ error: 'forbidden', error_description: `requires role ${ROLE}` });
  });

  it('answers a request without a token with a bare Bearer challenge', async () => {
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer']) {
      const res = await getReports(authorization);
      expect(res.status).toBe(401);
      expect(res.challenge).toMatch(/^Bearer realm="[^"]+"$/);
    }
  });

  it('answers garbage and tampered tokens with 401 invalid_token, never a 500', async () => {
    const good = await tokenFor(reader, REPORTS);
    const [header, payload] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url');
    const unsigned = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url');
    const { privateKey } = await generateKeyPair('ES256');
    const ownKey = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-tesseras' })
      .sign(privateKey);
    const tokens = [
      'garbage',
      'a.b.c',
      'eyJ.eyJ.sig',
      `${good.slice(0, -4)}AAAA`,
      `${header}.${forgedPayload}.${good.split('.')[2]}`,
      `${unsigned}.${payload}.`,
      ownKey,
      'x'.repeat(10_000),
    ];
    for (const token of tokens) {
      const res = await getReports(`Bearer ${token}`);
      expect({ token, status: res.status }).toEqual({ token, status: 401 });
      expect(res.challenge).toMatch(/^Bearer realm="[^"]+", error="invalid_token"$/);
      expect(res.body).toMatchObject({ error: 'invalid_token' });
    }
  });

  it('refuses a valid Tessera token issued for another API: the audience check', async () => {
    const res = await getReports(`Bearer ${await tokenFor(reader, BILLING)}`);
    expect(res.status).toBe(401);
    expect(res.challenge).toContain('error="invalid_token"');
  });

  it('refuses an opaque access token (one asked for without resource)', async () => {
    const opaque = await tokenFor(reader);
    expect(opaque.split('.')).toHaveLength(1);
    const res = await getReports(`Bearer ${opaque}`);
    expect(res.status).toBe(401);
    expect(res.challenge).toContain('error="invalid_token"');
  });
});

describe('the protected API example with DPoP-bound tokens', () => {
  async function dpopToken() {
    const config = await relyingParty(tessera.issuer, bound.client_id, bound.client_secret);
    const keys = await oidc.randomDPoPKeyPair('ES256');
    const DPoP = oidc.getDPoPHandle(config, keys);
    const { access_token } = await oidc.clientCredentialsGrant(config, { resource: REPORTS }, { DPoP });
    return { config, keys, DPoP, token: access_token };
  }
  const proofFor = async (token: string, privateKey: CryptoKey, publicKey: CryptoKey) =>
    new SignJWT({
      htm: 'GET',
      htu: `${apiUrl}/reports`,
      ath: base64url.encode(createHash('sha256').update(token).digest()),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .sign(privateKey);
  const getWithProof = async (token: string, proof: string) =>
    (await fetch(`${apiUrl}/reports`, { headers: { authorization: `DPoP ${token}`, dpop: proof } })).status;

  it('answers a bound token sent with its proof, as openid-client sends it', async () => {
    const { config, DPoP, token } = await dpopToken();
    const res = await oidc.fetchProtectedResource(config, token, new URL(`${apiUrl}/reports`), 'GET', null, undefined, {
      DPoP,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ caller: bound.client_id });
  });

  it('refuses the bound token as Bearer, or with a proof by another key', async () => {
    const { token } = await dpopToken();
    expect((await getReports(`Bearer ${token}`)).status).toBe(401);
    const thief = await generateKeyPair('ES256');
    expect(await getWithProof(token, await proofFor(token, thief.privateKey, thief.publicKey))).toBe(401);
  });

  it('takes one proof once, of a hundred sent at once', async () => {
    const { keys, token } = await dpopToken();
    const proof = await proofFor(token, keys.privateKey, keys.publicKey);
    const statuses = await Promise.all(Array.from({ length: 100 }, () => getWithProof(token, proof)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(new Set(statuses.filter((s) => s !== 200))).toEqual(new Set([401]));
  });
});
