import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { DependencyUnavailable } from '../http/dependency-errors.ts';
import type { CheckInput, Guessability } from './password-checker.ts';

/**
 * The password policy for sign-up, password change and reset, after NIST SP 800-63B §5.1.1.2:
 * - 8 to 256 characters, counted in Unicode code points; nothing trimmed or normalised, so spaces,
 *   emoji and any script are allowed and a long passphrase is never cut short.
 * - No composition rules (no "one digit, one symbol").
 * - Common, breached and guessable passwords are rejected: zxcvbn-ts with its common-password and
 *   English dictionaries, keyboard graphs, and the user's own email, username and name.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256; // argon2 input bound, and long passphrases are still allowed

// zxcvbn's score 3 is "safely unguessable: moderate protection from offline slow-hash attacks".
const MIN_SCORE = 3;
const ADVICE = 'Try a longer passphrase of a few unrelated words.';

// One thread: checks queue there rather than each holding ~35 MB of dictionaries; it leaves when idle.
const checker = new Piscina<CheckInput, Guessability>({
  filename: new URL('./password-checker.ts', import.meta.url).href,
  minThreads: 0,
  maxThreads: 1,
  idleTimeout: 60_000,
});
// A thread that fails while starting has no check to fail, so the pool reports it as an event,
// which unheard would end the process; the checks waiting for it time out instead (below).
checker.on('error', () => {});

/** How long a check may wait and run: a burst of 100 sign-ups queues ~2 s behind the one thread. */
const CHECK_TIMEOUT_MS = 15_000;

/**
 * The checker's verdict, asked twice at most. A thread that dies (out of memory, say) fails the
 * check it was running and starts no thread for those queued behind it until asked again: asking
 * again starts one, which answers this check and the queue. A check that fails again, or waits
 * past the timeout, is the checker's outage: the request gets 503 with Retry-After, never a hang.
 */
async function askChecker(input: CheckInput): Promise<Guessability> {
  let failure: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      return await checker.run(input, { signal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
    } catch (err) {
      failure = err;
      if ((err as Error).name === 'AbortError') break;
    }
  }
  throw new DependencyUnavailable('password_checker', 'the password checker did not answer', { cause: failure });
}

/** Each context value whole, an email's local part, and the words of a name, plus our own name. */
function userInputs(context: (string | null | undefined)[]): string[] {
  const inputs = new Set(['tessera']);
  for (const value of context) {
    if (!value) continue;
    inputs.add(value);
    const at = value.lastIndexOf('@');
    if (at > 0) inputs.add(value.slice(0, at));
    for (const word of value.split(/[\s@._+-]+/)) {
      if (word.length >= 3) inputs.add(word);
    }
  }
  return [...inputs];
}

/** Undefined when acceptable, else a sentence or two to show next to the password field. */
export async function passwordProblem(
  password: string,
  context: (string | null | undefined)[] = [],
): Promise<string | undefined> {
  // A code point is one or two UTF-16 units: past 512 units it is too long without counting.
  const length = password.length > PASSWORD_MAX_LENGTH * 2 ? Number.POSITIVE_INFINITY : [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;

  const { score, warning } = await askChecker({ password, userInputs: userInputs(context) });
  if (score >= MIN_SCORE) return undefined;
  return warning ? `${warning} ${ADVICE}` : `This password is easy to guess. ${ADVICE}`;
}

/** The policy for one person's password: their email, username and name count against it. */
export function passwordProblemFor(
  password: string,
  person: { email: string; username: string | null; name: string | null },
): Promise<string | undefined> {
  return passwordProblem(password, [person.email, person.username, person.name]);
}

/** The checker's live threads, for the tests that kill them mid-check. */
export function passwordCheckerThreads(): readonly Worker[] {
  return checker.threads;
}
