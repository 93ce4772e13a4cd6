import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { connectSql, createTestDatabase, type TestDatabase } from '../support/database.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * `tessera audit verify`: the audit chain stays whole under many writers at once (two nodes on
 * one PostgreSQL, or one node on the embedded database), and any edit, removal or reordering
 * made behind Tessera's back is named by the first event it breaks.
 */
const shared = Boolean(process.env.DATABASE_URL);
const WRITES = 120;

let database: TestDatabase;
let nodes: RunningTessera[] = [];
let first: RunningTessera;
let sql: pg.Client;
let statuses: number[];

beforeAll(async () => {
  database = await createTestDatabase();
  first = await startTessera({}, database);
  nodes = [first];
  // Both nodes serve one issuer, as behind a load balancer; the test reaches each by its port.
  if (shared) nodes.push(await startTessera({ ISSUER: first.issuer }, database));
  const { key } = (await first.cli(['api-keys', 'create', '--name', 'auditor', '--role', 'admin'])).json<{
    key: string;
  }>();
  // Every role made through the admin API is an audit event, written by whichever node answers.
  statuses = await Promise.all(
    Array.from({ length: WRITES }, async (_, i) => {
      const node = nodes[i % nodes.length] as RunningTessera;
      const res = await fetch(new URL('/api/admin/roles', `http://localhost:${node.env.PORT}`), {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `auditor-${i}` }),
      });
      return res.status;
    }),
  );
  sql = await connectSql(first.env);
}, 120_000);

afterAll(async () => {
  await sql?.end();
  for (const node of nodes) await node.stop();
  await database?.drop();
});

async function verify() {
  return first.cli(['audit', 'verify']);
}

/** Ids of role.created events, oldest first. */
async function roleEventIds(): Promise<string[]> {
  const { rows } = await sql.query<{ id: string }>(
    `select id::text as id from audit_events where type = 'role.created' order by id`,
  );
  return rows.map((r) => r.id);
}

describe(`tessera audit verify (${shared ? 'two nodes on one PostgreSQL' : 'one node, embedded database'})`, () => {
  it(`finds one whole chain after ${WRITES} events written at once`, async () => {
    expect(statuses).toEqual(Array(WRITES).fill(201));
    const { rows } = await sql.query<{ n: string }>('select count(*)::text as n from audit_events');
    expect(Number(rows[0]?.n)).toBeGreaterThanOrEqual(WRITES);

    const result = await verify();
    expect(result.code).toBe(0);
    expect(result.json()).toMatchObject({ intact: true, events: Number(rows[0]?.n) });
  });

  it('names an event whose details were edited, and is whole again once they are put back', async () => {
    const id = (await roleEventIds())[40] as string;
    const { rows } = await sql.query('select details from audit_events where id = $1', [id]);
    await sql.query(`update audit_events set details = '{"role":"innocent"}' where id = $1`, [id]);

    const broken = await verify();
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr.trim()).toBe(
      `tessera: audit chain broken at event ${id}: it was changed: its content does not match its hash`,
    );

    await sql.query('update audit_events set details = $2 where id = $1', [id, rows[0]?.details]);
    expect((await verify()).code).toBe(0);
  });

  it('names the event after one deleted from the middle, and is whole again once it is put back', async () => {
    const ids = await roleEventIds();
    const [before, removed, after] = [ids[59], ids[60], ids[61]] as string[];
    const { rows } = await sql.query('select * from audit_events where id = $1', [removed]);
    const row = rows[0] as Record<string, unknown>;
    await sql.query('delete from audit_events where id = $1', [removed]);

    const broken = await verify();
    expect(broken.code).toBe(1);
    expect(broken.stderr.trim()).toBe(
      `tessera: audit chain broken at event ${after}: it does not follow event ${before}: an event between them was removed, or the order changed`,
    );

    const columns = Object.keys(row);
    await sql.query(
      `insert into audit_events (${columns.join(', ')}) values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      columns.map((c) => (c === 'details' ? JSON.stringify(row[c]) : row[c])),
    );
    expect((await verify()).code).toBe(0);
  });

  it('names the first of two events whose order was swapped, and is whole again once swapped back', async () => {
    const ids = await roleEventIds();
    const [before, a, b] = [ids[79], ids[80], ids[81]] as string[];
    const swap = async () => {
      await sql.query('begin');
      await sql.query('update audit_events set id = -1 where id = $1', [a]);
      await sql.query('update audit_events set id = $1 where id = $2', [a, b]);
      await sql.query('update audit_events set id = $1 where id = -1', [b]);
      await sql.query('commit');
    };
    await swap();

    const broken = await verify();
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`audit chain broken at event ${a}: it does not follow event ${before}`);

    await swap();
    expect((await verify()).code).toBe(0);
  });
});
