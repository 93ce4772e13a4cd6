import { ScureBase32Plugin } from 'otplib';
import { z } from 'zod';
import { passlibPbkdf2 } from '../accounts/hash-formats/pbkdf2.ts';

/**
 * Keycloak's credential objects, as a realm export holds them (`secretData` and `credentialData`
 * are JSON written into strings), turned into what Tessera stores:
 * - a `password` credential of Keycloak's PBKDF2 providers (`pbkdf2` is HMAC-SHA1,
 *   `pbkdf2-sha256`, `pbkdf2-sha512`) becomes passlib's PBKDF2 string with the same salt,
 *   iterations and key (whose length Keycloak, too, takes from the stored key);
 * - one of Keycloak 24+'s `argon2` provider becomes an Argon2 PHC string;
 * - an `otp` credential of the TOTP kind Tessera speaks (6 digits, 30 s, HmacSHA1) becomes its
 *   base32 secret: Keycloak keeps the secret as text and authenticator apps hold base32 of its bytes.
 * Anything else answers undefined, or a reason the caller reports.
 */
export interface KeycloakCredential {
  type?: string;
  secretData?: string;
  credentialData?: string;
}

const secretData = z.object({ value: z.string().min(1), salt: z.string().optional() });
const passwordData = z.object({
  hashIterations: z.number().int().positive(),
  algorithm: z.string(),
  additionalParameters: z.record(z.string(), z.array(z.string())).optional(),
});
const otpData = z.object({
  subType: z.string(),
  digits: z.number(),
  period: z.number(),
  algorithm: z.string(),
});

const PBKDF2_DIGESTS = { pbkdf2: 'sha1', 'pbkdf2-sha256': 'sha256', 'pbkdf2-sha512': 'sha512' } as const;
const ARGON2_VERSIONS: Record<string, string> = { '1.3': '19', '1.0': '16' };
const ARGON2_TYPES = new Set(['id', 'i', 'd']);

function parseJson<S extends z.ZodType>(schema: S, text: string | undefined): z.infer<S> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(text ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The password hash of a `password` credential, or the reason it cannot be imported. */
export function keycloakPasswordHash(credential: KeycloakCredential): { hash: string } | { error: string } {
  const secret = parseJson(secretData, credential.secretData);
  const data = parseJson(passwordData, credential.credentialData);
  if (!secret || !data)
    return { error: 'password credential: secretData or credentialData is not what Keycloak writes' };
  const salt = Buffer.from(secret.salt ?? '', 'base64');
  const key = Buffer.from(secret.value, 'base64');
  if (salt.length === 0 || key.length === 0) return { error: 'password credential: no salt or no value' };
  const algorithm = data.algorithm;
  if (algorithm in PBKDF2_DIGESTS) {
    const digest = PBKDF2_DIGESTS[algorithm as keyof typeof PBKDF2_DIGESTS];
    return { hash: passlibPbkdf2(digest, data.hashIterations, salt, key) };
  }
  if (algorithm === 'argon2') {
    const p = (name: string) => data.additionalParameters?.[name]?.[0];
    const version = ARGON2_VERSIONS[p('version') ?? '1.3'];
    const type = p('type') ?? 'id';
    if (!version || !ARGON2_TYPES.has(type)) return { error: 'password credential: unknown argon2 type or version' };
    const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    const params = `m=${p('memory') ?? '7168'},t=${data.hashIterations},p=${p('parallelism') ?? '1'}`;
    return { hash: `$argon2${type}$v=${version}$${params}$${b64(salt)}$${b64(key)}` };
  }
  return { error: `password credential: algorithm ${JSON.stringify(algorithm)} is not one Tessera verifies` };
}

const base32 = new ScureBase32Plugin();

/** The base32 secret of an `otp` credential Tessera can take over, or undefined (HOTP, 8 digits, SHA-256…). */
export function keycloakTotpSecret(credential: KeycloakCredential): string | undefined {
  const secret = parseJson(secretData, credential.secretData);
  const data = parseJson(otpData, credential.credentialData);
  if (!secret || !data) return undefined;
  if (data.subType !== 'totp' || data.digits !== 6 || data.period !== 30 || data.algorithm !== 'HmacSHA1')
    return undefined;
  return base32.encode(Buffer.from(secret.value, 'utf8'));
}
