import { describe, expect, it } from '@jest/globals';
import {
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  passwordCheckerThreads,
  passwordProblem,
} from '../../server/accounts/password-policy.ts';
import { DependencyUnavailable, failedDependency } from '../../server/http/dependency-errors.ts';

const TOO_SHORT = 'Use at least 8 characters.';
const TOO_LONG = 'Use at most 256 characters.';
const ADVICE = 'Try a longer passphrase of a few unrelated words.';

// A made-up user, so their names are in no dictionary and only the context can flag them.
const context = ['quokka.fernsby@example.com', 'quokkafern', 'Quokka Fernsby'];

describe('passwordProblem', () => {
  it('bounds length at 8 to 256 characters', () => {
    expect(PASSWORD_MIN_LENGTH).toBe(8);
    expect(PASSWORD_MAX_LENGTH).toBe(256);
  });

  it.each([
    ['empty', ''],
    ['7 characters', 'k9#Qz!w'],
    ['7 emoji, 14 UTF-16 units', '🦊🌲🌙🍄🦉🔥💧'],
    ['7 characters with a space', 'fox den'],
  ])('rejects %s as too short', async (_label, password) => {
    expect(await passwordProblem(password)).toBe(TOO_SHORT);
  });

  it.each([
    ['257 ASCII characters', 'x'.repeat(257)],
    ['257 emoji', '🦊'.repeat(257)],
    ['a megabyte', 'x'.repeat(1_000_000)],
  ])('rejects %s as too long', async (_label, password) => {
    expect(await passwordProblem(password)).toBe(TOO_LONG);
  });

  it.each([
    ['8 characters', 'k9#Qz!w2'],
    ['256 characters', 'x'.repeat(256)],
    ['256 emoji, 512 UTF-16 units', '🦊'.repeat(256)],
  ])('lets %s past the length check', async (_label, password) => {
    const problem = await passwordProblem(password);
    expect(problem).not.toBe(TOO_SHORT);
    expect(problem).not.toBe(TOO_LONG);
  });

  it.each([
    ['the classic passphrase', 'correct horse battery staple'],
    ['a lowercase passphrase', 'a long and unusual passphrase'],
    // 'x7#Kp2!q' scores 2 (bruteforce at 8 characters is a few hours of offline slow hashing);
    // ten random characters score 3.
    ['ten random characters', 'mK9$vQ2#pL'],
    ['8 emoji', '🦊🌲🌙⭐🍄🦉🔥💧'],
    ['accented words', 'château fort à minuit'],
    ['leading and trailing spaces kept', '  wombat kettle drizzle  '],
    ['a long passphrase', 'my grandmother kept seventeen clocks in the attic and none of them told the same time'],
    ['a 256-character passphrase', 'plum orbit vessel 7 lantern quiet '.repeat(8).slice(0, 256)],
  ])('accepts %s', async (_label, password) => {
    expect(await passwordProblem(password, context)).toBeUndefined();
  });

  it.each([
    ['password1', 'This is a commonly used password.'],
    ['qwertyuiop', 'This is a frequently used password.'],
    ['iloveyou123', 'This is similar to a commonly used password.'],
    ['12345678', 'This is a heavily used password.'],
    ['aaaaaaaa', 'Repeated characters like "aaa" are easy to guess.'],
    ['Password123!', 'This is similar to a commonly used password.'],
    ['p@ssw0rd', 'This is similar to a commonly used password.'],
    ['passwordpassword', 'Repeated character patterns like "abcabcabc" are easy to guess.'],
    ['x7#Kp2!q', 'This password is easy to guess.'],
  ])('rejects %s, saying why without echoing it', async (password, warning) => {
    const problem = await passwordProblem(password, context);
    expect(problem).toBe(`${warning} ${ADVICE}`);
    expect(problem).not.toContain(password);
  });

  it.each([
    ['the username plus digits', 'quokkafern123'],
    ['the email local part plus digits', 'quokka.fernsby123'],
    ['the surname and a year', 'Fernsby!2024'],
  ])('rejects %s only when it knows who is asking', async (_label, password) => {
    expect(await passwordProblem(password)).toBeUndefined();
    expect(await passwordProblem(password, context)).toBe(
      `Avoid your name, email address or the name of this site. ${ADVICE}`,
    );
  });

  it.each([['tessera123'], ['tessera2024!']])(
    'rejects %s, built on the site name, even without context',
    async (password) => {
      expect(await passwordProblem(password)).toBe(
        `Avoid your name, email address or the name of this site. ${ADVICE}`,
      );
    },
  );

  it('ignores missing context values', async () => {
    expect(await passwordProblem('quokkafern123', [null, undefined, ''])).toBeUndefined();
    expect(await passwordProblem('quokkafern123', [null, 'quokkafern', undefined])).toBeDefined();
  });

  it('answers every check of a burst when the checker thread dies in the middle of it', async () => {
    let answered = 0;
    const checks = Array.from({ length: 100 }, async (_, i) => {
      const problem = await passwordProblem(i % 2 ? 'password1' : `wombat kettle ${i} drizzle`);
      answered += 1;
      return problem;
    });
    while (answered < 10) await new Promise((resolve) => setTimeout(resolve, 5));
    const [thread] = passwordCheckerThreads();
    await thread.terminate();
    expect(answered).toBeLessThan(100); // the premise: it died with checks still to answer

    const problems = await Promise.all(checks);
    problems.forEach((problem, i) => {
      expect(problem).toBe(i % 2 ? `This is a commonly used password. ${ADVICE}` : undefined);
    });
    expect(await passwordProblem('qwertyuiop')).toBe(`This is a frequently used password. ${ADVICE}`);
  });

  it('reports an outage (answered 503) for a check whose threads keep dying, and answers the next', async () => {
    // Every thread that starts is killed until the check gives up: after its second thread died,
    // or, when a thread died before it was given the check, at its timeout.
    // No idle thread with its dictionaries loaded: each new one loads them first, so it is killed mid-check.
    await Promise.all(passwordCheckerThreads().map((thread) => thread.terminate()));
    let settled = false;
    const check = passwordProblem('wombat kettle drizzle')
      .catch((err: unknown) => err)
      .finally(() => {
        settled = true;
      });
    const killed = new Set<unknown>();
    while (!settled) {
      const [thread] = passwordCheckerThreads();
      if (thread && !killed.has(thread)) {
        killed.add(thread);
        await thread.terminate();
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const failure = await check;
    expect(failure).toBeInstanceOf(DependencyUnavailable);
    expect(failedDependency(failure)).toBe('password_checker');
    expect(await passwordProblem('qwertyuiop')).toBe(`This is a frequently used password. ${ADVICE}`);
  });
});
