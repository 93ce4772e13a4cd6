import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/** A resource server checks a tsk_ API key at the introspection endpoint, as it checks tokens. */
let tessera: RunningTessera;
let resourceServer: { client_id: string; client_secret: string };
let spa: { client_id: string };

async function introspect(token: string, client: { id: string; secret?: string }) {
  const res = await fetch(new URL('/token/introspection', tessera.issuer), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(client.secret
        ? { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` }
        : {}),
    },
    body: new URLSearchParams({ token, ...(client.secret ? {} : { client_id: client.id }) }).toString(),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  tessera = await startTessera();
  (await tessera.cli(['roles', 'create', 'reports.reader'])).json();
  resourceServer = (await tessera.cli(['clients', 'create', '--name', 'Reports API', '--type', 'machine'])).json();
  spa = (
    await tessera.cli(['clients', 'create', '--name', 'S', '--type', 'spa', '--redirect-uri', 'https://a.example/cb'])
  ).json();
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('introspecting an API key', () => {
  it('answers active with its roles and owner, and inactive once revoked', async () => {
    const key = (await tessera.cli(['api-keys', 'create', '--name', 'exporter', '--role', 'reports.reader'])).json<{
      id: string;
      key: string;
    }>();
    expect(key.key).toMatch(/^tsk_/);
    const rs = { id: resourceServer.client_id, secret: resourceServer.client_secret };
    expect(await introspect(key.key, rs)).toMatchObject({
      active: true,
      token_type: 'api_key',
      iss: tessera.issuer,
      jti: key.id,
      owner: 'cli',
      roles: ['reports.reader'],
    });
    (await tessera.cli(['api-keys', 'revoke', key.id])).json();
    expect(await introspect(key.key, rs)).toEqual({ active: false });
  });

  it('answers inactive for an expired key, an unknown one, and to a public client', async () => {
    const rs = { id: resourceServer.client_id, secret: resourceServer.client_secret };
    const short = (await tessera.cli(['api-keys', 'create', '--name', 'brief', '--expires-in', '1s'])).json<{
      key: string;
    }>();
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await introspect(short.key, rs)).toEqual({ active: false });
    expect(await introspect('tsk_not-a-real-key', rs)).toEqual({ active: false });
    const live = (await tessera.cli(['api-keys', 'create', '--name', 'live'])).json<{ key: string }>();
    expect(await introspect(live.key, { id: spa.client_id })).toEqual({ active: false });
    expect((await introspect(live.key, rs)).active).toBe(true);
  });
});
