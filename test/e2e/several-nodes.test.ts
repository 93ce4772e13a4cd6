import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Several Tessera processes on one PostgreSQL act as one server. The embedded database belongs to
 * one process, so there a second server on the same DATA_DIR must refuse to start, not share it.
 */
let database: TestDatabase;
let first: RunningTessera;

beforeAll(async () => {
  database = await createTestDatabase();
  first = await startTessera({}, database);
});

afterAll(async () => {
  await first?.stop();
  await database?.drop();
});

const shared = Boolean(process.env.DATABASE_URL);

describe(shared ? 'two nodes on one PostgreSQL' : 'a second server on the same embedded database', () => {
  it(shared ? 'redeem each other’s tokens and see the same clients' : 'refuses to start, saying why', async () => {
    if (!shared) {
      await expect(startTessera({}, database)).rejects.toThrow(
        /another Tessera process \(pid \d+\) is using .*set DATABASE_URL/,
      );
      expect((await fetch(new URL('/readyz', first.issuer))).status).toBe(200);
      return;
    }
    // Both nodes serve the same issuer, as behind a load balancer; the test reaches each by its port.
    const second = await startTessera({ ISSUER: first.issuer }, database);
    try {
      const secondUrl = `http://localhost:${second.env.PORT}`;
      const machine = (await first.cli(['clients', 'create', '--name', 'M', '--type', 'machine'])).json<{
        client_id: string;
        client_secret: string;
      }>();
      const basic = `Basic ${Buffer.from(`${machine.client_id}:${machine.client_secret}`).toString('base64')}`;
      const post = (base: string, path: string, body: string) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
          body,
        });

      // An opaque token lives only in the database: issued by one node, known to the other.
      const issued = await eventually(async () => {
        const res = await post(first.issuer, '/token', 'grant_type=client_credentials');
        expect(res.status).toBe(200);
        return (await res.json()) as { access_token: string };
      });
      const introspected = await eventually(async () => {
        const res = await post(secondUrl, '/token/introspection', `token=${issued.access_token}`);
        expect(res.status).toBe(200);
        return res.json();
      });
      expect(introspected).toMatchObject({ active: true, client_id: machine.client_id, iss: first.issuer });
      const jwks = async (base: string) => (await fetch(`${base}/jwks`)).json();
      expect(await jwks(secondUrl)).toEqual(await jwks(first.issuer));
    } finally {
      await second.stop();
    }
  });
});
