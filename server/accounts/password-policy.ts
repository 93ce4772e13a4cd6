import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

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

// zxcvbn's cost grows quickly with length and with l33t-able characters (a 256-char random string
// takes ~1.7 s with the defaults), and it runs on the event loop. These bounds keep the worst case
// near 60 ms without changing any verdict we test; the first 100 characters that are still weak
// make the whole password weak. Levenshtein matching stays off: it costs 100–500 ms a call.
const ZXCVBN_MAX_LENGTH = 100;
const L33T_MAX_SUBSTITUTIONS = 8;

// Loaded and built on first use: the dictionaries take ~35 MB that a node signing people in with
// passwords never needs (only setting one is checked), ranking them ~100 ms; the result is immutable.
let checker: ZxcvbnFactory | undefined;
const load = createRequire(import.meta.url);

function getChecker(): ZxcvbnFactory {
  if (checker) return checker;
  const { ZxcvbnFactory } = load('@zxcvbn-ts/core') as typeof import('@zxcvbn-ts/core');
  const { adjacencyGraphs, dictionary: commonDictionary } = load(
    '@zxcvbn-ts/language-common',
  ) as typeof import('@zxcvbn-ts/language-common');
  const { dictionary: englishDictionary, translations } = load(
    '@zxcvbn-ts/language-en',
  ) as typeof import('@zxcvbn-ts/language-en');
  checker = new ZxcvbnFactory({
    dictionary: { ...commonDictionary, ...englishDictionary },
    graphs: adjacencyGraphs,
    translations: {
      ...translations,
      warnings: { ...translations.warnings, userInputs: 'Avoid your name, email address or the name of this site.' },
    },
    maxLength: ZXCVBN_MAX_LENGTH,
    l33tMaxSubstitutions: L33T_MAX_SUBSTITUTIONS,
  });
  return checker;
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
export function passwordProblem(password: string, context: (string | null | undefined)[] = []): string | undefined {
  // A code point is one or two UTF-16 units: past 512 units it is too long without counting.
  const length = password.length > PASSWORD_MAX_LENGTH * 2 ? Number.POSITIVE_INFINITY : [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;

  const { score, feedback } = getChecker().check(password, userInputs(context));
  if (score >= MIN_SCORE) return undefined;
  return feedback.warning ? `${feedback.warning} ${ADVICE}` : `This password is easy to guess. ${ADVICE}`;
}

/** The policy for one person's password: their email, username and name count against it. */
export function passwordProblemFor(
  password: string,
  person: { email: string; username: string | null; name: string | null },
): string | undefined {
  return passwordProblem(password, [person.email, person.username, person.name]);
}
