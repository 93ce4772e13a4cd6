import { generateSecret, verify } from 'otplib';

/**
 * TOTP as every authenticator app reads it: RFC 6238, HMAC-SHA-1, 6 digits, 30-second steps.
 * A code is matched to its step, allowing one step of clock drift either way; refusing a replayed
 * step is the caller's job (it has to be atomic in the database).
 */
const ISSUER = 'Tessera';
const PERIOD = 30;
const DIGITS = 6;

/** A fresh 160-bit secret, base32. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/**
 * The otpauth:// URI an authenticator app scans (Google's Key URI Format). Written out here
 * because otplib's generateURI drops parameters equal to the defaults; we state them all.
 */
export function totpUri(secret: string, accountName: string): string {
  const label = `${encodeURIComponent(ISSUER)}:${encodeURIComponent(accountName)}`;
  const params = [
    `secret=${secret}`,
    `issuer=${encodeURIComponent(ISSUER)}`,
    'algorithm=SHA1',
    `digits=${DIGITS}`,
    `period=${PERIOD}`,
  ];
  return `otpauth://totp/${label}?${params.join('&')}`;
}

/** The URI as an SVG QR code, drawn here so the secret never leaves the server. */
export async function totpQrSvg(uri: string): Promise<string> {
  // Imported on first use: only enrolment draws a QR code, and the module is not small.
  const { default: QRCode } = await import('qrcode');
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** The 30-second step `code` belongs to (now, one before or one after), or undefined. */
export async function matchTotpStep(secret: string, code: string, now = Date.now()): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const epoch = Math.floor(now / 1000);
  const result = await verify({
    secret,
    token: code,
    algorithm: 'sha1',
    digits: DIGITS,
    period: PERIOD,
    epoch,
    epochTolerance: PERIOD,
  });
  return result.valid ? Math.floor(epoch / PERIOD) + result.delta : undefined;
}
