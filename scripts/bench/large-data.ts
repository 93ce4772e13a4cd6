import { sql } from 'kysely';
import { sweepExpiredPayloads } from '../../adapters/oidc-adapter.ts';
import { type Db, openDatabase } from '../../db/database.ts';
import { hashPassword } from '../../server/accounts/passwords.ts';

/**
 * `--large`: the database of a busy deployment, made with a few set-based statements: 100,000
 * users, 1,000,000 live artifacts (grants, refresh and access tokens, spread over those users)
 * and 1,000,000 audit events over the last 90 days, plus 200,000 expired tokens for the sweeper,
 * which the bench then times. Rows are shaped like real ones (sizes, indexed columns), not valid
 * tokens: the bench's own fixture is what it signs in and refreshes.
 */
export const LARGE = { users: 100_000, liveArtifacts: 1_000_000, auditEvents: 1_000_000, expired: 200_000 } as const;

export interface SweepFigures {
  rows: number;
  seconds: number;
  /** A batch's mean duration: each batch is its own statement, so no lock is held longer. */
  meanBatchMs: number;
}

/** Fills the database at `databaseUrl` through a connection of its own, without the server's statement timeout. */
export async function generateLargeData(databaseUrl: string, log: (line: string) => void): Promise<void> {
  const database = await openDatabase({ databaseUrl, dataDir: '', role: 'cli' });
  try {
    await fill(database.db, log);
  } finally {
    await database.close();
  }
}

async function fill(db: Db, log: (line: string) => void): Promise<void> {
  const hash = await hashPassword('a bench user who never signs in');
  const started = Date.now();
  await sql`
    insert into users (id, email, name, password_hash, email_verified)
    select gen_random_uuid()::text, 'large' || i || '@example.com', 'Large User ' || i, ${hash}, true
    from generate_series(1, ${LARGE.users}) as i`.execute(db);
  log(`  ${LARGE.users} users (${seconds(started)} s)`);
  await artifacts(db, LARGE.liveArtifacts, sql`now() + interval '14 days'`);
  log(`  ${LARGE.liveArtifacts} live artifacts (${seconds(started)} s)`);
  await sql`
    insert into audit_events (at, type, user_id, client_id, ip, user_agent, details, prev_hash, hash)
    select now() - (i % 90) * interval '1 day', 'login', 'large-user-' || (i % ${LARGE.users}), null,
      '203.0.113.' || (i % 250), 'Mozilla/5.0 (bench)', '{"method":"password"}'::jsonb,
      md5(i::text), md5((i + 1)::text)
    from generate_series(1, ${LARGE.auditEvents}) as i`.execute(db);
  log(`  ${LARGE.auditEvents} audit events (${seconds(started)} s)`);
  await artifacts(db, LARGE.expired, sql`now() - interval '1 minute'`);
  await sql`analyze`.execute(db);
  log(`  ${LARGE.expired} expired tokens; analyzed (${seconds(started)} s)`);
}

/** `count` artifacts: one Grant, two RefreshTokens and two AccessTokens per five rows, per user. */
async function artifacts(db: Db, count: number, expiresAt: ReturnType<typeof sql>) {
  for (let from = 1; from <= count; from += CHUNK) {
    await artifactsBetween(db, from, Math.min(count, from + CHUNK - 1), expiresAt);
  }
}

// Rows per statement: a few seconds each, so no statement of the generator runs for minutes.
const CHUNK = 100_000;

async function artifactsBetween(db: Db, from: number, to: number, expiresAt: ReturnType<typeof sql>) {
  await sql`
    insert into oidc_payloads (type, id, payload, grant_id, account_id, expires_at)
    select (array['Grant', 'RefreshToken', 'RefreshToken', 'AccessToken', 'AccessToken'])[i % 5 + 1],
      encode(sha256(('large' || i || random())::bytea), 'base64'),
      json_build_object('accountId', 'large-user-' || (i / 5 % ${LARGE.users}), 'clientId', 'large-client',
        'scope', 'openid email offline_access', 'gty', 'authorization_code', 'iat', 1796000000,
        'exp', 1797000000, 'kind', 'RefreshToken', 'sessionUid', md5(i::text)),
      encode(sha256(('grant' || (i / 5))::bytea), 'base64'),
      'large-user-' || (i / 5 % ${LARGE.users}),
      ${expiresAt}
    from generate_series(${from}::int, ${to}::int) as i`.execute(db);
}

/** Sweeps the expired rows as the server's sweeper does (batches of 5,000), timed. */
export async function timeSweep(db: Db): Promise<SweepFigures> {
  const started = performance.now();
  const rows = await sweepExpiredPayloads(db);
  const seconds = (performance.now() - started) / 1000;
  return { rows, seconds, meanBatchMs: (seconds * 1000) / Math.max(1, Math.ceil(rows / 5_000)) };
}

const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(0);
