/** The authentication context classes Tessera reports in `acr` and accepts in `acr_values`. */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';
export const ACR_MFA = 'urn:tessera:acr:mfa';

/** How the first step of a sign-in was passed (RFC 8176 names): a password, GitHub, or both when linking. */
export type FirstFactor = 'pwd' | 'fed';

/** What a second factor adds to `amr` (RFC 8176): a TOTP or recovery code counts as `otp`. */
export type SecondFactor = 'otp';

/** What a finished login says about how the person proved who they are. */
export function loginResult(accountId: string, methods: FirstFactor[], second: SecondFactor[]) {
  return second.length
    ? { accountId, amr: [...methods, ...second], acr: ACR_MFA }
    : { accountId, amr: [...methods], acr: ACR_PASSWORD };
}
