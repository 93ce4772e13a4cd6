import { randomInt, randomUUID } from 'node:crypto';
import { type Db, inTransaction } from '../../db/database.ts';
import {
  clientRequiresMfa,
  confirmTotpFactor,
  countUnusedRecoveryCodes,
  deleteRecoveryCodes,
  deleteTotpFactor,
  findTotpFactor,
  lockTotpFactor,
  mfaStanding,
  replaceRecoveryCodes,
  spendRecoveryCode,
  spendTotpStep,
  upsertPendingTotp,
} from '../../db/repositories/mfa.ts';
import { AppError } from '../errors.ts';
import { type Secrets, sha256 } from '../secrets.ts';
import { isFresh } from './fresh-proof.ts';
import { matchTotpStep, newTotpSecret, totpQrSvg, totpUri } from './totp.ts';

/**
 * TOTP and recovery codes, the two second factors.
 * - The TOTP secret is sealed with the at-rest key; it counts only once a code has confirmed it,
 *   and an unconfirmed one can be shown and confirmed only within the fresh-proof window after it
 *   was made (starting one is the caller's to guard with that proof).
 * - Each 30-second step is accepted once: spending it is one conditional UPDATE, so two requests
 *   racing with the same code cannot both pass.
 * - Recovery codes are shown once, stored as hashes, spent by one conditional UPDATE; a new set
 *   replaces the old one entirely.
 */
export const RECOVERY_CODE_COUNT = 10;

export interface Enrolment {
  secret: string;
  uri: string;
  qrSvg: string;
}

// No 0/o, 1/l/i: the codes are read off paper and typed by hand.
const RECOVERY_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
const RECOVERY_GROUPS = [4, 4, 2];

/** Starts (or restarts) enrolment: a new unconfirmed secret, encrypted with secrets.encrypt. */
export async function startTotpEnrolment(
  db: Db,
  secrets: Secrets,
  user: { id: string; email: string },
): Promise<Enrolment> {
  const secret = newTotpSecret();
  if (!(await upsertPendingTotp(db, user.id, secrets.encrypt(secret)))) {
    throw new AppError('conflict', 'An authenticator app is already set up; remove it before adding another.');
  }
  return enrolment(secret, user.email);
}

/** The pending enrolment's details again (to re-show the page after a wrong code), or undefined when none is recent. */
export async function pendingEnrolment(
  db: Db,
  secrets: Secrets,
  user: { id: string; email: string },
): Promise<Enrolment | undefined> {
  const factor = await recentPendingFactor(db, user.id);
  return factor && enrolment(secrets.decrypt(factor.secret_encrypted), user.email);
}

async function recentPendingFactor(db: Db, userId: string) {
  const factor = await findTotpFactor(db, userId);
  if (!factor || factor.confirmed_at || !isFresh(factor.created_at.getTime() / 1000)) return undefined;
  return factor;
}

/** Activates the factor if `code` is valid for the pending secret (and spends that step); returns the fresh recovery codes (plain text, shown once) or undefined. */
export async function confirmTotpEnrolment(
  db: Db,
  secrets: Secrets,
  userId: string,
  code: string,
): Promise<string[] | undefined> {
  const factor = await recentPendingFactor(db, userId);
  if (!factor) return undefined;
  const step = await matchTotpStep(secrets.decrypt(factor.secret_encrypted), normaliseOtp(code));
  if (step === undefined) return undefined;
  return inTransaction(db, async (trx) => {
    if (!(await confirmTotpFactor(trx, userId, factor.secret_encrypted, step))) return undefined;
    return issueRecoveryCodes(trx, userId);
  });
}

/** Whether a confirmed TOTP factor exists. */
export async function hasTotp(db: Db, userId: string): Promise<boolean> {
  return Boolean((await findTotpFactor(db, userId))?.confirmed_at);
}

/** A TOTP code (replay-safe) or an unused recovery code (spent now). */
export async function verifySecondFactor(
  db: Db,
  secrets: Secrets,
  userId: string,
  code: string,
): Promise<'otp' | 'recovery' | undefined> {
  const otp = normaliseOtp(code);
  if (/^\d{6}$/.test(otp)) {
    const factor = await findTotpFactor(db, userId);
    if (!factor?.confirmed_at) return undefined;
    const step = await matchTotpStep(secrets.decrypt(factor.secret_encrypted), otp);
    return step !== undefined && (await spendTotpStep(db, userId, step)) ? 'otp' : undefined;
  }
  const recovery = normaliseRecoveryCode(code);
  if (recovery.length === 0) return undefined;
  return (await spendRecoveryCode(db, userId, hashRecoveryCode(userId, recovery))) ? 'recovery' : undefined;
}

/** A new set of recovery codes (plain text, shown once), the old set no longer working; false without an authenticator app. */
export async function regenerateRecoveryCodes(db: Db, userId: string): Promise<string[] | false> {
  return inTransaction(db, async (trx) => {
    // Locked: two sets made at once would each replace only the codes the other had not committed.
    if (!(await lockTotpFactor(trx, userId))?.confirmed) return false;
    return issueRecoveryCodes(trx, userId);
  });
}

/** Removes the TOTP factor and every recovery code. */
export async function removeMfa(db: Db, userId: string): Promise<void> {
  await inTransaction(db, async (trx) => {
    await deleteRecoveryCodes(trx, userId);
    await deleteTotpFactor(trx, userId);
  });
}

export async function recoveryCodesLeft(db: Db, userId: string): Promise<number> {
  return countUnusedRecoveryCodes(db, userId);
}

/** Whether this user must pass MFA to sign in to this client: any of their roles requires it, or the client does. */
export async function mfaRequired(db: Db, userId: string, clientId: string | undefined): Promise<boolean> {
  if ((await mfaStanding(db, userId)).roleRequiresMfa) return true;
  return clientId !== undefined && clientRequiresMfa(db, clientId);
}

async function enrolment(secret: string, accountName: string): Promise<Enrolment> {
  const uri = totpUri(secret, accountName);
  return { secret, uri, qrSvg: await totpQrSvg(uri) };
}

async function issueRecoveryCodes(db: Db, userId: string): Promise<string[]> {
  const codes = new Set<string>();
  while (codes.size < RECOVERY_CODE_COUNT) codes.add(newRecoveryCode());
  const plain = [...codes];
  await replaceRecoveryCodes(
    db,
    userId,
    plain.map((c) => ({ id: randomUUID(), code_hash: hashRecoveryCode(userId, normaliseRecoveryCode(c)) })),
  );
  return plain;
}

function newRecoveryCode(): string {
  return RECOVERY_GROUPS.map((n) =>
    Array.from({ length: n }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join(''),
  ).join('-');
}

// Apps show "123 456"; people type recovery codes in any case, with or without the dashes.
const normaliseOtp = (code: string) => code.replace(/\s+/g, '');
const normaliseRecoveryCode = (code: string) => code.toLowerCase().replace(/[\s-]+/g, '');

// The user id salts the hash, so one table of precomputed hashes cannot serve every account.
const hashRecoveryCode = (userId: string, normalised: string) => sha256(`${userId}:${normalised}`);
