import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { revokeEverythingOf } from '../../adapters/account-artifacts.ts';
import { type Db, inTransaction } from '../../db/database.ts';
import { setUserRoles, userRoleNames } from '../../db/repositories/roles.ts';
import {
  deleteUser,
  findUserById,
  findUserByLogin,
  insertUser,
  lockUser,
  setUserDisabled,
  updatePasswordHash,
} from '../../db/repositories/users.ts';
import type { User } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import { existingRoleIds, roleName } from '../roles/roles.ts';
import { parseInput } from '../validation.ts';
import { passwordProblemFor } from './password-policy.ts';
import { burnPasswordCheck, hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { USERNAME_PATTERN } from './signup.ts';

export const userInput = z.object({
  email: z.email({ error: 'must be an email address' }).max(254),
  username: z.string().regex(USERNAME_PATTERN, 'must be 2-39 letters, digits or _ . -').optional(),
  name: z.string().trim().min(1).max(200).optional(),
  password: z.string().min(8, 'must be at least 8 characters').max(1024, 'must be at most 1024 characters'),
  roles: z.array(roleName).max(100).default([]),
});

export interface UserView {
  id: string;
  email: string;
  email_verified: boolean;
  username: string | null;
  name: string | null;
  roles: string[];
  disabled: boolean;
  created_at: string;
}

export function describeUser(user: User, roles: string[]): UserView {
  return {
    id: user.id,
    email: user.email,
    email_verified: user.email_verified,
    username: user.username,
    name: user.name,
    roles,
    disabled: user.disabled_at !== null,
    created_at: user.created_at.toISOString(),
  };
}

/**
 * An operator-made account: its email counts as verified, and its password meets the same policy
 * as one chosen at sign-up (the operator may be setting it for someone who will keep it).
 */
export async function createUser(db: Db, input: z.input<typeof userInput>): Promise<UserView> {
  const u = parseInput(userInput, input);
  const problem = await passwordProblemFor(u.password, {
    email: u.email,
    username: u.username ?? null,
    name: u.name ?? null,
  });
  if (problem) throw new AppError('invalid_input', `password: ${problem}`);
  const passwordHash = await hashPassword(u.password);
  const user = await db.transaction().execute((trx) => insertAccount(trx, u, passwordHash));
  return describeUser(user, u.roles.toSorted());
}

/**
 * Inserts an operator-made account with its roles, inside the caller's transaction; refuses a
 * taken email or username and unknown roles. With a password hash the address counts as verified;
 * without one (an invitation) it is verified when the person uses the mailed link.
 */
export async function insertAccount(
  trx: Db,
  u: { email: string; username?: string | undefined; name?: string | undefined; roles: string[] },
  passwordHash: string | null,
): Promise<User> {
  const roleIds = await existingRoleIds(trx, u.roles);
  if (await findUserByLogin(trx, u.email)) throw new AppError('conflict', 'a user with that email already exists');
  if (u.username && (await findUserByLogin(trx, u.username))) {
    throw new AppError('conflict', 'a user with that username already exists');
  }
  const created = await insertUser(trx, {
    id: randomUUID(),
    email: u.email,
    username: u.username ?? null,
    name: u.name ?? null,
    password_hash: passwordHash,
    email_verified: passwordHash !== null,
  });
  await setUserRoles(trx, created.id, roleIds);
  return created;
}

export async function setRolesOfUser(db: Db, userId: string, names: string[]): Promise<UserView> {
  const parsed = parseInput(z.array(roleName), names);
  return inTransaction(db, async (trx) => {
    const user = await findUserById(trx, userId);
    if (!user) throw new AppError('not_found', `user ${userId} does not exist`);
    const roleIds = await existingRoleIds(trx, parsed);
    await setUserRoles(trx, userId, roleIds);
    return describeUser(user, await userRoleNames(trx, userId));
  });
}

/**
 * Checks a login (email or username) and password. Unknown accounts and wrong passwords answer
 * alike and take as long; a disabled account is told apart only after a correct password.
 */
export async function authenticate(db: Db, login: string, password: string): Promise<User> {
  return checkPassword(db, await findUserByLogin(db, login.trim()), password);
}

/** `authenticate` for a caller that has already looked the login up (to key its rate limits). */
export async function checkPassword(db: Db, user: User | undefined, password: string): Promise<User> {
  if (!user?.password_hash) {
    await burnPasswordCheck(password);
    throw new AppError('invalid_credentials', 'Incorrect email, username or password.');
  }
  if (!(await verifyPassword(user.password_hash, password))) {
    throw new AppError('invalid_credentials', 'Incorrect email, username or password.');
  }
  if (user.disabled_at) throw new AppError('account_disabled', 'This account has been disabled.');
  // An imported hash (another system's format or parameters) becomes Tessera's argon2id now.
  if (user.password_imported_at || needsRehash(user.password_hash))
    await updatePasswordHash(db, user.id, await hashPassword(password));
  return user;
}

/** Ends every session and grant a user holds, then deletes the user; returns how many artifacts went. */
export function deleteUserAndSessions(db: Db, userId: string): Promise<number> {
  return inTransaction(db, async (trx) => {
    // The user's row first, as a change of how they sign in locks it before their sessions: the
    // other order could deadlock with one.
    await lockUser(trx, userId);
    const revoked = await revokeEverythingOf(trx, userId);
    await deleteUser(trx, userId);
    return revoked;
  });
}

/** Disables a user and ends every session and grant they hold; the CLI and the admin API both call this. */
export async function disableUser(db: Db, userId: string): Promise<number> {
  return inTransaction(db, async (trx) => {
    if (!(await setUserDisabled(trx, userId, true))) throw new AppError('not_found', `user ${userId} does not exist`);
    return revokeEverythingOf(trx, userId);
  });
}
