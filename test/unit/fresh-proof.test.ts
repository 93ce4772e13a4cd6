import { expect, it } from '@jest/globals';
import { FRESH_PROOF_SECONDS, isFresh, nowInSeconds } from '../../server/mfa/fresh-proof.ts';

/** The window in which a sign-in stands in for the password on /account: 5 minutes, and no more. */
it('counts a sign-in as fresh for 5 minutes, and nothing unknown as fresh', () => {
  expect(FRESH_PROOF_SECONDS).toBe(300);
  expect(isFresh(nowInSeconds())).toBe(true);
  expect(isFresh(nowInSeconds() - 290)).toBe(true);
  expect(isFresh(nowInSeconds() - 310)).toBe(false);
  expect(isFresh(nowInSeconds() - 600)).toBe(false);
  expect(isFresh(undefined)).toBe(false);
  expect(isFresh(Number.NaN)).toBe(false);
});
