import { randomUUID } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Insertable } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import {
  findPasskeyByCredentialId,
  insertPasskey,
  listPasskeysOf,
  recordPasskeyUse,
} from '../../db/repositories/passkeys.ts';
import type { PasskeyRow, PasskeysTable, WebAuthnPurpose } from '../../db/schema.ts';
import { newChallenge, spendAnswerChallenge } from './challenges.ts';
import { PasskeyError } from './passkey-error.ts';
import type { RelyingParty } from './relying-party.ts';

/**
 * Passkeys through @simplewebauthn/server. Rules this file enforces:
 * - every ceremony spends its own challenge (challenges.ts) before anything else is checked;
 * - a sign-in without a password needs user verification (a PIN or biometric on the
 *   authenticator), which makes it a complete multi-factor sign-in; as a second factor,
 *   presence is enough;
 * - the credential must belong to the account the challenge was made for (second factor) or to
 *   the account its user handle names (sign-in);
 * - a sign count that does not move forward, on an authenticator that counts, is refused, and
 *   recording the new count is one conditional UPDATE, so one answer cannot be used twice.
 */

/** What an authenticator said about a use, in RFC 8176 `amr` names. */
export type PasskeyAmr = 'hwk' | 'swk' | 'user';

export interface PasskeyUse {
  passkey: PasskeyRow;
  userVerified: boolean;
  amr: PasskeyAmr[];
}

// Limits sized for post-quantum keys (ML-DSA-44 signs in 2.4 kB), well inside the 16 kB form limit.
const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/);
const registrationAnswer = z.object({
  id: base64url.min(1).max(1024),
  rawId: base64url.max(1024),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: base64url.max(4096),
    attestationObject: base64url.max(12_288),
    transports: z.array(z.string().max(32)).max(10).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.string().max(32).optional(),
});
const authenticationAnswer = z.object({
  id: base64url.min(1).max(1024),
  rawId: base64url.max(1024),
  type: z.literal('public-key'),
  response: z.looseObject({
    clientDataJSON: base64url.max(4096),
    authenticatorData: base64url.max(4096),
    signature: base64url.max(8192),
    userHandle: base64url.max(256).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.string().max(32).optional(),
});

// @simplewebauthn/server and the ASN.1 and X.509 libraries under it are some 5 MB of a node's
// memory, loaded at the first ceremony: most nodes never see a passkey.
const webauthn = () => import('@simplewebauthn/server');

/** The form field a page script posts the browser's answer in, read as JSON; malformed answers throw. */
function parseAnswer<T>(schema: z.ZodType<T>, posted: string): T {
  try {
    return schema.parse(JSON.parse(posted));
  } catch {
    throw new PasskeyError('malformed');
  }
}

/** A passkey used from a synced keychain counts as a software key; one bound to its device as hardware. */
const keyKind = (deviceType: PasskeyRow['device_type']): PasskeyAmr => (deviceType === 'multiDevice' ? 'swk' : 'hwk');

const userHandleOf = (userId: string) => new TextEncoder().encode(userId);

/** The library base64url-encodes the bytes it is given: handing it the bytes keeps the stored challenge the one the browser signs. */
const challengeBytes = (challenge: string) => new Uint8Array(Buffer.from(challenge, 'base64url'));

/**
 * Options to create a passkey for `user`; `isNew` when the account does not exist yet (a sign-up
 * with a passkey), whose challenge then names no account.
 */
export async function registrationOptions(
  db: Db,
  rp: RelyingParty,
  user: { id: string; email: string; name: string | null; username: string | null },
  boundTo: string,
  isNew = false,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = isNew ? [] : await listPasskeysOf(db, user.id);
  return (await webauthn()).generateRegistrationOptions({
    rpName: rp.name,
    rpID: rp.id,
    userName: user.username ?? user.email,
    userDisplayName: user.name ?? user.email,
    userID: userHandleOf(user.id),
    challenge: challengeBytes(await newChallenge(db, 'register', boundTo, isNew ? null : user.id)),
    attestationType: 'none',
    excludeCredentials: existing.map((p) => ({ id: p.credential_id, transports: p.transports })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  });
}

export type NewPasskey = Omit<Insertable<PasskeysTable>, 'user_id'>;

/**
 * Checks the browser's answer to registrationOptions: the passkey to store, for `userId`'s
 * account (null: one a passkey sign-up is about to create).
 */
export async function verifyRegistration(
  db: Db,
  rp: RelyingParty,
  userId: string | null,
  boundTo: string,
  posted: string,
  name: string,
): Promise<NewPasskey> {
  const answer = parseAnswer(registrationAnswer, posted) as RegistrationResponseJSON;
  const spent = await spendAnswerChallenge(db, answer.response.clientDataJSON, 'register', boundTo);
  if (spent.userId !== userId) throw new PasskeyError('challenge');
  const { verifyRegistrationResponse } = await webauthn();
  const verified = await verifyRegistrationResponse({
    response: answer,
    expectedChallenge: spent.challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    requireUserVerification: false,
  }).catch((err: Error) => {
    throw new PasskeyError('rejected', err.message);
  });
  if (!verified.verified) throw new PasskeyError('rejected');
  const { credential, aaguid, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
  return {
    id: randomUUID(),
    credential_id: credential.id,
    public_key: Buffer.from(credential.publicKey).toString('base64url'),
    sign_count: credential.counter,
    transports: JSON.stringify(credential.transports ?? []),
    aaguid,
    device_type: credentialDeviceType,
    backed_up: credentialBackedUp,
    name,
  };
}

/** Keeps a new passkey of `userId` that verifyRegistration accepted; 'taken' when its credential is kept already. */
export async function keepPasskey(db: Db, userId: string, row: NewPasskey): Promise<PasskeyRow> {
  if (!(await insertPasskey(db, { ...row, user_id: userId }))) throw new PasskeyError('taken');
  const saved = await findPasskeyByCredentialId(db, row.credential_id);
  if (!saved) throw new PasskeyError('taken');
  return saved;
}

/**
 * Options for a sign-in with any passkey of this site (`userId` absent: the browser offers the
 * discoverable ones), or for the second factor of one account (its passkeys only).
 */
export async function authenticationOptions(
  db: Db,
  rp: RelyingParty,
  boundTo: string,
  userId?: string,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const purpose: WebAuthnPurpose = userId ? 'second_factor' : 'sign_in';
  const allowed = userId ? await listPasskeysOf(db, userId) : [];
  return (await webauthn()).generateAuthenticationOptions({
    rpID: rp.id,
    challenge: challengeBytes(await newChallenge(db, purpose, boundTo, userId ?? null)),
    userVerification: userId ? 'preferred' : 'required',
    ...(userId ? { allowCredentials: allowed.map((p) => ({ id: p.credential_id, transports: p.transports })) } : {}),
  });
}

/** Checks the browser's answer to authenticationOptions; answers the passkey used and what it proved. */
export async function verifyPasskeyUse(
  db: Db,
  rp: RelyingParty,
  boundTo: string,
  posted: string,
  secondFactorOf?: string,
): Promise<PasskeyUse> {
  const answer = parseAnswer(authenticationAnswer, posted) as AuthenticationResponseJSON;
  const purpose: WebAuthnPurpose = secondFactorOf ? 'second_factor' : 'sign_in';
  const spent = await spendAnswerChallenge(db, answer.response.clientDataJSON, purpose, boundTo);
  const passkey = await findPasskeyByCredentialId(db, answer.id);
  if (!passkey) throw new PasskeyError('unknown');
  const handle = answer.response.userHandle;
  const owner = secondFactorOf ?? (handle ? Buffer.from(handle, 'base64url').toString('utf8') : passkey.user_id);
  if (passkey.user_id !== owner || (secondFactorOf && spent.userId !== secondFactorOf)) {
    throw new PasskeyError('unknown');
  }
  const { verifyAuthenticationResponse } = await webauthn();
  const verified = await verifyAuthenticationResponse({
    response: answer,
    expectedChallenge: spent.challenge,
    expectedOrigin: rp.origin,
    expectedRPID: rp.id,
    credential: {
      id: passkey.credential_id,
      publicKey: Buffer.from(passkey.public_key, 'base64url'),
      counter: Number(passkey.sign_count),
      transports: passkey.transports,
    },
    requireUserVerification: !secondFactorOf,
  }).catch((err: Error) => {
    throw new PasskeyError(/counter/i.test(err.message) ? 'sign_count' : 'rejected', err.message);
  });
  if (!verified.verified) throw new PasskeyError('rejected');
  const { newCounter, userVerified, credentialBackedUp } = verified.authenticationInfo;
  if (!(await recordPasskeyUse(db, passkey.id, newCounter, { backedUp: credentialBackedUp }))) {
    throw new PasskeyError('sign_count');
  }
  return { passkey, userVerified, amr: [keyKind(passkey.device_type), 'user'] };
}
