/** The authentication context classes Tessera reports in `acr` and accepts in `acr_values`. */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';
export const ACR_MFA = 'urn:tessera:acr:mfa';

/** How the first step of a sign-in was passed (RFC 8176 names): a password, GitHub, or both when linking. */
export type FirstFactor = 'pwd' | 'fed';

/**
 * What a second factor adds to `amr` (RFC 8176): a TOTP or recovery code counts as `otp`; `mfa`
 * is an upstream connection's word that it checked one, where the operator trusts it to.
 */
export type SecondFactor = 'otp' | 'mfa';

/** Whether a login's amr holds a second factor (the step-up check asks this of the session). */
export const hasSecondFactor = (amr: readonly string[] | undefined) => !!amr?.some((m) => m === 'otp' || m === 'mfa');

/** What a finished login says about how the person proved who they are. */
export function loginResult(accountId: string, methods: FirstFactor[], second: SecondFactor[]) {
  return second.length
    ? { accountId, amr: [...methods, ...second], acr: ACR_MFA }
    : { accountId, amr: [...methods], acr: ACR_PASSWORD };
}
