/** Every way a passkey ceremony can fail, as the audit log records it; the words are what a person reads. */
export const PASSKEY_FAILURES = {
  challenge: 'That passkey request has expired or was already used. Try again.',
  malformed: 'Your browser sent an answer Tessera cannot read. Try again.',
  unknown: 'That passkey is not registered here. Sign in another way, then add it on your account page.',
  rejected: 'That passkey could not be verified. Try again.',
  sign_count: 'That passkey answer was already used, or the passkey may have been copied. Try again.',
  taken: 'That passkey is already registered.',
} as const;

export type PasskeyFailure = keyof typeof PASSKEY_FAILURES;

export class PasskeyError extends Error {
  override name = 'PasskeyError';
  readonly reason: PasskeyFailure;
  constructor(reason: PasskeyFailure, detail?: string) {
    super(detail ?? PASSKEY_FAILURES[reason]);
    this.reason = reason;
  }
}
