import type { Context } from 'koa';
import type { Secrets } from '../secrets.ts';
import { knownDeviceOf } from './known-device.ts';
import type { RateLimitName } from './rate-limits.ts';

/**
 * Which limits a password attempt spends, in the order they are spent:
 * - per address (login_ip) always;
 * - per account, keyed on the account the login resolves to (its id), so its email and its
 *   username are one count; a login that resolves to no account is keyed on what was typed,
 *   normalised, so unknown logins are limited exactly like known ones;
 * - from a browser that signed in to that account before (known-device.ts): its own count
 *   (login_device) instead of the account's shared ones (login_account_ip, login_account), which
 *   anyone can use up.
 */
export type Limits = ReadonlyArray<readonly [RateLimitName, string]>;

/** The per-account key of an account. */
export const accountKey = (userId: string) => `user:${userId}`;

/** The key of `login_account_ip`: an account (or unknown login) from one address. */
export const accountIpKey = (account: string, ip: string) => `${account}|${ip}`;

/** `user`: the account `login` resolves to, if any (the caller looked it up once, for the password check too). */
export function passwordAttemptLimits(
  ctx: Context,
  secrets: Secrets,
  login: string,
  user: { id: string } | undefined,
): Limits {
  const account = user ? accountKey(user.id) : `login:${login.trim().toLowerCase()}`;
  const device = user && knownDeviceOf(ctx, secrets, user.id);
  if (user && device) {
    return [
      ['login_ip', ctx.ip],
      ['login_device', `${account}|${device}`],
    ];
  }
  return [
    ['login_ip', ctx.ip],
    ['login_account_ip', accountIpKey(account, ctx.ip)],
    ['login_account', account],
  ];
}
