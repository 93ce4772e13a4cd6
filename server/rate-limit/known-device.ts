import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Context } from 'koa';
import { randomToken, type Secrets } from '../secrets.ts';

/**
 * Known devices, against targeted lockout: anyone can use up an account's shared login limits, so
 * a browser that finished a sign-in to an account gets a cookie that lets its later password
 * attempts for that account count on their own (login_device) instead.
 *
 * Rules this file enforces:
 * - the cookie is HttpOnly, SameSite=Lax, lasts 180 days, and holds up to MAX_ACCOUNTS entries
 *   (one per account signed in from this browser, the latest first);
 * - an entry is a random device id and an HMAC-SHA256 of (account id, device id) under a key
 *   derived from SECRET_KEY; it names no account, and only matches the account a login resolves
 *   to, so it cannot be moved to another account or made up;
 * - a cookie that does not parse or match is simply no known device (never an error).
 */
const COOKIE = 'tessera.device';
const MAX_ACCOUNTS = 5;
const MAX_AGE_MS = 180 * 24 * 60 * 60 * 1000;
const ENTRY = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

const keys = new WeakMap<Secrets, Buffer>();
function deviceKey(secrets: Secrets): Buffer {
  let key = keys.get(secrets);
  if (!key) {
    const base = secrets.cookieKeys[0] ?? '';
    key = Buffer.from(hkdfSync('sha256', base, 'tessera', 'known device v1', 32));
    keys.set(secrets, key);
  }
  return key;
}

const mac = (secrets: Secrets, userId: string, deviceId: string) =>
  createHmac('sha256', deviceKey(secrets)).update(`${userId}\0${deviceId}`).digest('base64url');

function entries(ctx: Context): string[] {
  const value = ctx.cookies.get(COOKIE, { signed: false }) ?? '';
  return value
    .split('~')
    .filter((entry) => ENTRY.test(entry))
    .slice(0, MAX_ACCOUNTS);
}

function matches(secrets: Secrets, userId: string, entry: string): boolean {
  const [deviceId = '', tag = ''] = entry.split('.');
  const expected = Buffer.from(mac(secrets, userId, deviceId));
  const given = Buffer.from(tag);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The device id this browser holds for `userId`, if it signed in to that account before. */
export function knownDeviceOf(ctx: Context, secrets: Secrets, userId: string): string | undefined {
  return entries(ctx)
    .find((entry) => matches(secrets, userId, entry))
    ?.split('.')[0];
}

/** After a finished sign-in: marks this browser as known for `userId` (keeping its device id). */
export function rememberDevice(ctx: Context, secrets: Secrets, userId: string, secure: boolean): void {
  const all = entries(ctx);
  const own = all.find((entry) => matches(secrets, userId, entry));
  const deviceId = own?.split('.')[0] ?? randomToken(16);
  const entry = `${deviceId}.${mac(secrets, userId, deviceId)}`;
  const kept = [entry, ...all.filter((e) => e !== own)].slice(0, MAX_ACCOUNTS);
  ctx.cookies.set(COOKIE, kept.join('~'), {
    signed: false,
    httpOnly: true,
    sameSite: 'lax',
    secure,
    maxAge: MAX_AGE_MS,
    overwrite: true,
  });
}
