import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import {
  type ExistingUser,
  ensureRoles,
  findUsernameHolders,
  findUsersByEmails,
  grantRoles,
  insertConfirmedTotp,
  insertUsers,
  missingRoleNames,
  type StatementSize,
  type UserChanges,
  updateImportedUser,
} from '../../db/repositories/user-import.ts';
import type { NewUser } from '../../db/schema.ts';
import type { Secrets } from '../secrets.ts';
import { describePosition, type ImportedUser, type ImportSource, type InvalidUser } from './imported-user.ts';

/**
 * Imports users with their password hashes, batch by batch, each batch in one transaction.
 * - A user is matched by email (any case). A new one is created; an existing one gets what the
 *   file adds: a username or name that differs, a verified address (never unverified again),
 *   roles it lacks (none taken away), a password hash only while the stored one is itself an
 *   import nobody signed in with yet, and a TOTP factor only when none is on. So running the same
 *   file twice changes nothing, and what people did in Tessera since is kept.
 * - Refused before anything is written, with their place in the file: a second user with an email
 *   or username already on an earlier line, a username another account holds, and an address an
 *   unverified sign-up holds with a password of its own (whoever made it may not own the address).
 * - Roles the file names that do not exist are created (listed in the report).
 * - A batch the database refuses is rolled back whole and the run stops, saying where; the
 *   batches before it stay, and running the file again goes on from there. A batch that lost a
 *   race with a sign-up for the same address is planned again once.
 * - A dry run plans every batch the same way and writes nothing.
 */
// Large enough that a hundred thousand users take twenty transactions (round trips, not rows, are
// what a busy database makes slow), small enough that a refused batch is quickly redone.
export const BATCH_SIZE = 5_000;

export interface ImportReport {
  dry_run: boolean;
  created: number;
  updated: number;
  unchanged: number;
  invalid: InvalidUser[];
  roles_created: string[];
}

export interface ImportOptions {
  dryRun?: boolean;
  batchSize?: number;
  /** Called after each batch with how many users of the file are done. */
  onProgress?: (done: number, total: number) => void;
  /** `small` through a running server's socket (see db/repositories/user-import.ts). */
  statementSize?: StatementSize;
}

/** The run stopped at a batch the database refused; what came before it is imported. */
export class ImportStopped extends Error {
  override name = 'ImportStopped';
  readonly report: ImportReport;
  constructor(message: string, report: ImportReport) {
    super(message);
    this.report = report;
  }
}

interface Plan {
  creates: { row: NewUser; roles: string[]; totp: string | null }[];
  updates: { id: string; changes: UserChanges; roles: string[]; totp: string | null }[];
  unchanged: number;
  invalid: InvalidUser[];
}

export async function importUsers(
  db: Db,
  secrets: Secrets,
  source: ImportSource,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const dryRun = options.dryRun ?? false;
  const { users, invalid } = withoutRepeats(source);
  const report: ImportReport = { dry_run: dryRun, created: 0, updated: 0, unchanged: 0, invalid, roles_created: [] };
  const rolesMade = new Set<string>();
  const size = options.batchSize ?? BATCH_SIZE;
  for (let start = 0; start < users.length; start += size) {
    const batch = users.slice(start, start + size);
    try {
      const writes = dryRun ? undefined : { rolesMade, size: options.statementSize ?? 'large' };
      const plan = await batchWithOneRetry(db, batch, secrets, writes);
      if (dryRun) for (const name of await missingRoleNames(db, rolesOf(plan))) rolesMade.add(name);
      report.created += plan.creates.length;
      report.updated += plan.updates.length;
      report.unchanged += plan.unchanged;
      report.invalid.push(...plan.invalid);
    } catch (err) {
      report.roles_created = [...rolesMade].sort();
      const where = `${describePosition(at(batch, 0))} to ${describePosition(at(batch, -1))}`;
      const cause = (err as { message?: unknown }).message;
      throw new ImportStopped(
        `import stopped at ${where}, of which nothing was written (${String(cause)}); ` +
          `the ${report.created + report.updated + report.unchanged} users before them are imported, and running the same file again goes on from there`,
        report,
      );
    }
    options.onProgress?.(Math.min(start + size, users.length), users.length);
  }
  report.roles_created = [...rolesMade].sort();
  report.invalid.sort((a, b) => order(a) - order(b));
  return report;
}

const at = (batch: ImportedUser[], index: number) => (batch.at(index) as ImportedUser).at;
const order = (p: InvalidUser) => ('line' in p ? p.line : p.user);

/** The users of the file less those whose email or username an earlier one already has. */
function withoutRepeats(source: ImportSource): ImportSource {
  const emails = new Map<string, string>();
  const usernames = new Map<string, string>();
  const invalid = [...source.invalid];
  const users = source.users.filter((u) => {
    const email = u.email.toLowerCase();
    const username = u.username?.toLowerCase();
    const earlier = emails.get(email) ?? (username ? usernames.get(username) : undefined);
    if (earlier) {
      const what = emails.has(email) ? 'email' : 'username';
      invalid.push({ ...u.at, error: `${what} is already on ${earlier}` });
      return false;
    }
    emails.set(email, describePosition(u.at));
    if (username) usernames.set(username, describePosition(u.at));
    return true;
  });
  return { users, invalid };
}

/** Plans a batch and, unless this is a dry run (no `writes`), writes it, in one transaction. */
async function batchWithOneRetry(
  db: Db,
  batch: ImportedUser[],
  secrets: Secrets,
  writes?: { rolesMade: Set<string>; size: StatementSize },
) {
  const apply = () =>
    db.transaction().execute(async (trx) => {
      // Without fresh statistics (a table an import just filled) the planner prices the lookups
      // high enough to JIT-compile them, which costs far more than running them.
      await sql`set local jit = off`.execute(trx);
      const plan = await planBatch(trx, batch, secrets);
      if (writes) for (const name of await applyPlan(trx, plan, writes.size)) writes.rolesMade.add(name);
      return plan;
    });
  try {
    return await apply();
  } catch (err) {
    // A unique violation: someone took an address or username since the plan read them.
    if ((err as { code?: unknown }).code !== '23505') throw err;
    return apply();
  }
}

async function planBatch(db: Db, batch: ImportedUser[], secrets: Secrets): Promise<Plan> {
  const existing = new Map(
    (
      await findUsersByEmails(
        db,
        batch.map((u) => u.email),
      )
    ).map((u) => [u.email.toLowerCase(), u]),
  );
  const holders = await findUsernameHolders(
    db,
    batch.flatMap((u) => (u.username ? [u.username] : [])),
  );
  const plan: Plan = { creates: [], updates: [], unchanged: 0, invalid: [] };
  for (const u of batch) {
    const found = existing.get(u.email.toLowerCase());
    const holder = u.username ? holders.get(u.username.toLowerCase()) : undefined;
    if (holder && holder !== found?.id) {
      plan.invalid.push({ ...u.at, error: `username ${u.username} belongs to another user` });
      continue;
    }
    if (found && isUnprovenSignup(found)) {
      plan.invalid.push({ ...u.at, error: 'an unverified sign-up holds this address: verify or delete it first' });
      continue;
    }
    const totp = u.totp_secret && !found?.has_totp ? secrets.encrypt(u.totp_secret) : null;
    if (!found) {
      plan.creates.push({ row: newUserRow(u), roles: u.roles, totp });
      continue;
    }
    const changes = changesFor(found, u);
    const roles = u.roles.filter((r) => !found.roles.includes(r));
    if (Object.keys(changes).length === 0 && roles.length === 0 && !totp) plan.unchanged++;
    else plan.updates.push({ id: found.id, changes, roles, totp });
  }
  return plan;
}

/**
 * An account someone made here with an address they have not verified, and a password of their
 * own: perhaps not the address's owner, so the import must not vouch for it (verify it, grant it
 * roles) while leaving that password in place.
 */
const isUnprovenSignup = (found: ExistingUser) =>
  !found.email_verified && found.password_hash !== null && found.password_imported_at === null;

function newUserRow(u: ImportedUser): NewUser {
  const now = new Date();
  return {
    id: randomUUID(),
    email: u.email,
    username: u.username,
    name: u.name,
    email_verified: u.email_verified,
    password_hash: u.password_hash,
    password_imported_at: u.password_hash ? now : null,
    disabled_at: u.disabled ? now : null,
    pending_username: null,
    pending_until: null,
  };
}

function changesFor(found: ExistingUser, u: ImportedUser): UserChanges {
  const passwordIsImported = found.password_hash === null || found.password_imported_at !== null;
  return {
    ...(u.username !== null && u.username !== found.username ? { username: u.username } : {}),
    ...(u.name !== null && u.name !== found.name ? { name: u.name } : {}),
    ...(u.email_verified && !found.email_verified ? { email_verified: true as const } : {}),
    ...(u.password_hash !== null && passwordIsImported && u.password_hash !== found.password_hash
      ? { password_hash: u.password_hash }
      : {}),
  };
}

const rolesOf = (plan: Plan) => [...new Set([...plan.creates, ...plan.updates].flatMap((p) => p.roles))].sort();

/** Writes a batch's plan; answers the names of the roles it had to create. */
async function applyPlan(trx: Db, plan: Plan, size: StatementSize): Promise<string[]> {
  const roles = await ensureRoles(trx, rolesOf(plan));
  await insertUsers(
    trx,
    plan.creates.map((c) => c.row),
    size,
  );
  for (const u of plan.updates) {
    if (Object.keys(u.changes).length > 0) await updateImportedUser(trx, u.id, u.changes);
  }
  const writes = [...plan.creates.map((c) => ({ ...c, id: c.row.id })), ...plan.updates];
  await grantRoles(
    trx,
    writes.flatMap((w) => w.roles.map((name) => ({ user_id: w.id, role_id: roles.ids.get(name) as string }))),
    size,
  );
  await insertConfirmedTotp(
    trx,
    writes.flatMap((w) => (w.totp ? [{ user_id: w.id, secret_encrypted: w.totp }] : [])),
    size,
  );
  return roles.created;
}
