import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { formClient } from '../support/form-client.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Every node runs an outbox worker, and the mail queued on any node is sent once. Mail piles up
 * while SMTP refuses connections, then every worker polls for it at once. Several nodes need a
 * shared PostgreSQL (DATABASE_URL); the embedded database belongs to one process, so there the
 * test runs one node, which must still send each queued mail once.
 */
const PASSWORD = 'violet kettle under seven moons';
const USERS = Array.from({ length: 8 }, (_, i) => `node-mail-${i}@example.test`);
const shared = Boolean(process.env.DATABASE_URL);

let smtp: TestSmtp;
let proxy: TcpProxy;
let database: TestDatabase;
const nodes: RunningTessera[] = [];

beforeAll(async () => {
  smtp = await startTestSmtp();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(smtp.url).port) });
  database = await createTestDatabase();
  const env = { SMTP_URL: proxy.url(smtp.url), TRUST_PROXY: 'true' };
  const first = await startTessera(env, database);
  nodes.push(first);
  // Both nodes serve the same issuer, as behind a load balancer; the test reaches each by its port.
  if (shared) nodes.push(await startTessera({ ...env, ISSUER: first.issuer }, database));
  for (const email of USERS) {
    (await first.cli(['users', 'create', '--email', email, '--password-stdin'], PASSWORD)).json();
  }
});

afterAll(async () => {
  for (const node of nodes) await node.stop();
  await database?.drop();
  await proxy?.close();
  await smtp?.close();
});

const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.toLowerCase() === address);
const sentBy = (node: RunningTessera) =>
  node
    .logs()
    .split('\n')
    .filter((l) => l.includes('"msg":"mail sent"')).length;

describe(shared ? 'two nodes on one PostgreSQL' : 'one node on the embedded database', () => {
  it('deliver mail queued on either node exactly once, after an SMTP outage', async () => {
    proxy.refuse();
    try {
      await Promise.all(
        USERS.map(async (email, i) => {
          const node = nodes[i % nodes.length] as RunningTessera;
          const page = `http://localhost:${node.env.PORT}/forgot-password`;
          const res = await formClient().submit(page, page, { email }, { 'x-forwarded-for': `192.0.2.${i + 1}` });
          expect(res.status).toBe(200);
        }),
      );
      for (const node of nodes) await eventually(async () => expect(node.logs()).toContain('will retry'));
    } finally {
      proxy.restore();
    }

    await Promise.all(USERS.map((email) => smtp.waitForMail(email, 'Reset your password', 30_000)));
    // Long enough for any node to send a second copy if it were going to.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    for (const email of USERS) expect(mailsTo(email)).toHaveLength(1);
    expect(nodes.reduce((sum, node) => sum + sentBy(node), 0)).toBe(USERS.length);
  });
});
