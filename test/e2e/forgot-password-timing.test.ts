import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { formClient } from '../support/form-client.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * /forgot-password must not tell who is registered, by its answer or by its timing: the request
 * does the same work for every address (one outbox row), and whether a mail goes out is decided
 * afterwards. Timing is compared by medians of interleaved requests, so a busy machine slows both
 * alike, and each registered address is compared with the unknown one asked right after it: the
 * median of those differences must be small beside the median answer. On PostgreSQL the link to
 * the database runs through a proxy that adds 10 ms each way, so every statement costs 20 ms or
 * more: a path that does more database work than the other shows plainly, and the bound can be
 * tight (a quarter). Embedded PGlite has no link to slow; there only a gross difference (half the
 * median answer, such as a password hash on one path) fails.
 */
const PASSWORD = 'violet kettle under seven moons';
const ROUNDS = 20;
const KNOWN = Array.from({ length: 7 }, (_, i) => `known-${i}@example.test`);
const onPostgres = Boolean(process.env.DATABASE_URL);
const TOLERANCE = onPostgres ? 0.25 : 0.5;

let database: TestDatabase;
let proxy: TcpProxy | undefined;
let tessera: RunningTessera;

beforeAll(async () => {
  database = await createTestDatabase();
  // Mail goes to the log (a localhost issuer): a test SMTP server would parse mail in this process,
  // in the middle of the timings.
  const env: Record<string, string> = { TRUST_PROXY: 'true' };
  if (database.env.DATABASE_URL) {
    const postgres = new URL(database.env.DATABASE_URL);
    proxy = await startTcpProxy({ host: postgres.hostname, port: Number(postgres.port || 5432) });
    proxy.latency(10);
    env.DATABASE_URL = proxy.url(database.env.DATABASE_URL);
  }
  tessera = await startTessera(env, database);
  for (const email of KNOWN) {
    (await tessera.cli(['users', 'create', '--email', email, '--password-stdin'], PASSWORD)).json();
  }
});

afterAll(async () => {
  await tessera?.stop();
  await proxy?.close();
  await database?.drop();
});

// Each request from an address of its own, so the per-IP limit never answers instead.
let nextIp = 1;
async function askForReset(email: string) {
  const client = formClient();
  const page = new URL('/forgot-password', tessera.issuer);
  const headers = { 'x-forwarded-for': `203.0.113.${nextIp++}` };
  await client.get(page, headers);
  const started = performance.now();
  const res = await client.submit(page, page, { email }, headers);
  const text = await res.text();
  const ms = performance.now() - started;
  return { status: res.status, text: text.replaceAll(email, '<email>'), ms };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return ((sorted[(sorted.length - 1) >> 1] ?? 0) + (sorted[sorted.length >> 1] ?? 0)) / 2;
};

describe('/forgot-password', () => {
  it('answers a registered and an unknown address alike, in about the same time', async () => {
    const known: Awaited<ReturnType<typeof askForReset>>[] = [];
    const unknown: Awaited<ReturnType<typeof askForReset>>[] = [];
    // Warm up both paths first; then alternate, so whatever slows the machine slows both.
    await askForReset('warm-up@example.test');
    for (let round = 0; round < ROUNDS; round++) {
      known.push(await askForReset(KNOWN[round % KNOWN.length] as string));
      unknown.push(await askForReset(`nobody-${round}@example.test`));
    }

    for (const answer of [...known, ...unknown]) {
      expect(answer.status).toBe(200);
      expect(answer.text.replace(/value="[^"]*"/g, '')).toBe(known[0]?.text.replace(/value="[^"]*"/g, ''));
    }
    const answered = median([...known, ...unknown].map((a) => a.ms));
    const difference = median(known.map((a, i) => a.ms - (unknown[i]?.ms ?? 0)));
    process.stdout.write(
      `forgot-password: median answer ${answered.toFixed(1)} ms, registered minus unknown ${difference.toFixed(1)} ms\n`,
    );
    // 5 ms more for timers and scheduling, which no path controls.
    expect(Math.abs(difference)).toBeLessThan(answered * TOLERANCE + 5);

    // And only the registered addresses got mail.
    await eventually(async () =>
      expect(tessera.logs()).toContain(`"to":"${KNOWN[0]}","subject":"Reset your password"`),
    );
    expect(tessera.logs()).not.toContain('"to":"nobody-');
  });
});
