/**
 * Enrolling or replacing a second factor needs a fresh proof of the first one: the password (or,
 * for an account without one, a GitHub sign-in) given in the last few minutes, or a code from the
 * factor already there. A session alone is not enough: a stolen cookie must not add a factor that
 * locks the owner out. The same window bounds how long a started enrolment can be finished.
 */
export const FRESH_PROOF_SECONDS = 5 * 60;

/** Now, in seconds since the epoch, as oidc-provider counts `loginTs`. */
export const nowInSeconds = () => Math.floor(Date.now() / 1000);

/** Whether a proof given at `provedAt` (seconds since the epoch) is recent enough. */
export function isFresh(provedAt: number | undefined): boolean {
  return provedAt !== undefined && Number.isFinite(provedAt) && nowInSeconds() - provedAt <= FRESH_PROOF_SECONDS;
}
