import { createRequire } from 'node:module';
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/**
 * zxcvbn-ts, run in a worker thread (password-policy.ts starts it): a check costs 10–60 ms of CPU,
 * which on the event loop would stall every other request for that long, and a burst of sign-ups
 * for seconds. The dictionaries (~35 MB) load on the first check and leave with the idle worker.
 */

// zxcvbn's cost grows quickly with length and with l33t-able characters (a 256-char random string
// takes ~1.7 s with the defaults). These bounds keep the worst case near 60 ms without changing any
// verdict we test; the first 100 characters that are still weak make the whole password weak.
// Levenshtein matching stays off: it costs 100–500 ms a call.
const ZXCVBN_MAX_LENGTH = 100;
const L33T_MAX_SUBSTITUTIONS = 8;

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

export interface Guessability {
  score: number;
  warning: string | null;
}

export interface CheckInput {
  password: string;
  userInputs: string[];
}

export default function guessability({ password, userInputs }: CheckInput): Guessability {
  const { score, feedback } = getChecker().check(password, userInputs);
  return { score, warning: feedback.warning };
}
