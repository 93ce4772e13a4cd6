import { artifactKey } from '../../adapters/artifact-key.ts';
import { payloadAdapter } from '../../adapters/oidc-adapter.ts';
import type { Db } from '../../db/database.ts';
import { parseDuration } from '../api-keys/api-keys.ts';
import { AppError } from '../errors.ts';
import { randomToken, type Secrets } from '../secrets.ts';

/**
 * Initial access tokens for dynamic client registration (RFC 7591 §3): an operator makes one
 * (`tessera registration-tokens create`) and hands it to whoever may register one client. Rules:
 * - a token is oidc-provider's `InitialAccessToken`, stored like every artifact (only its hash);
 * - it carries the single-use policy, so the provider spends it as it registers a client, in one
 *   conditional update: of any number of registrations presenting it at once, one succeeds;
 * - it expires (a day unless told otherwise, at most 30 days).
 */
export const SINGLE_USE_POLICY = 'tessera-single-use';

const DEFAULT_SECONDS = 24 * 3600;
const LONGEST_SECONDS = 30 * 24 * 3600;

export interface RegistrationTokenView {
  /** The stored key (the token's hash): names the token in the audit trail, and is no credential. */
  id: string;
  initial_access_token: string;
  expires_at: string;
}

export async function createRegistrationToken(
  db: Db,
  secrets: Secrets,
  expiresIn: string | undefined,
): Promise<RegistrationTokenView> {
  const seconds = expiresIn === undefined ? DEFAULT_SECONDS : parseDuration(expiresIn);
  if (!seconds || seconds > LONGEST_SECONDS) {
    throw new AppError('invalid_input', '--expires-in must be a duration like 12h, 7d or 3600s, at most 30d');
  }
  const token = randomToken(32);
  const now = Math.floor(Date.now() / 1000);
  const Tokens = payloadAdapter(db, secrets);
  await new Tokens('InitialAccessToken').upsert(
    token,
    { iat: now, exp: now + seconds, kind: 'InitialAccessToken', jti: token, policies: [SINGLE_USE_POLICY] },
    seconds,
  );
  return {
    id: artifactKey(token),
    initial_access_token: token,
    expires_at: new Date((now + seconds) * 1000).toISOString(),
  };
}

/** Spends a live initial access token; false when it was already spent, has expired or never was. */
export async function spendRegistrationToken(db: Db, token: string): Promise<boolean> {
  const spent = await db
    .updateTable('oidc_payloads')
    .set({ consumed_at: new Date() })
    .where('type', '=', 'InitialAccessToken')
    .where('id', '=', artifactKey(token))
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', new Date())
    .returning('id')
    .executeTakeFirst();
  return spent !== undefined;
}
