/** The authentication context classes Tessera reports in `acr` and accepts in `acr_values`. */
export const ACR_PASSWORD = 'urn:tessera:acr:pwd';
export const ACR_MFA = 'urn:tessera:acr:mfa';

/** What a finished login says about how the person proved who they are. */
export function loginResult(accountId: string, secondFactor: boolean) {
  return secondFactor
    ? { accountId, amr: ['pwd', 'otp'], acr: ACR_MFA }
    : { accountId, amr: ['pwd'], acr: ACR_PASSWORD };
}
