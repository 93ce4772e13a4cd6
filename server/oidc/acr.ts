/** The authentication context classes Tessera reports in `acr` and accepts in `acr_values`. */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';
export const ACR_MFA = 'urn:tessera:acr:mfa';

/**
 * How the first step of a sign-in was passed (RFC 8176 names): a password, GitHub (or both when
 * linking), or a passkey: `hwk` (bound to its device) or `swk` (synced), with `user` for the
 * presence the authenticator reports.
 */
export type FirstFactor = 'pwd' | 'fed' | 'hwk' | 'swk' | 'user';

/**
 * What a second factor adds to `amr` (RFC 8176): a TOTP or recovery code counts as `otp`; a
 * passkey as above; `mfa` is an upstream connection's word that it checked one, where the
 * operator trusts it to.
 */
export type SecondFactor = 'otp' | 'hwk' | 'swk' | 'user' | 'mfa';

/**
 * What a finished login says about how the person proved who they are: multi-factor when a
 * second factor passed, or when the first was one on its own (a passkey with user verification).
 */
export function loginResult(accountId: string, methods: FirstFactor[], second: SecondFactor[], multiFactor = false) {
  return second.length || multiFactor
    ? { accountId, amr: [...methods, ...second], acr: ACR_MFA }
    : { accountId, amr: [...methods], acr: ACR_PASSWORD };
}
