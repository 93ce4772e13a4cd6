import type { Context } from 'koa';
import { changeEndingOtherSessions } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import { formField, tooManyAttempts } from '../interaction/interaction.ts';
import {
  confirmTotpEnrolment,
  type Enrolment,
  hasTotp,
  pendingEnrolment,
  regenerateRecoveryCodes,
  removeMfa,
  startTotpEnrolment,
  verifySecondFactor,
} from '../mfa/factors.ts';
import { FRESH_PROOF_SECONDS } from '../mfa/fresh-proof.ts';
import { showRecoveryCodes, showTotpSetup } from '../mfa/pages.ts';
import { sha256 } from '../secrets.ts';
import { type AccountDeps, done, proveFirstFactor, render, requireSignIn } from './account.ts';

/**
 * Two-step verification on /account. Rules this file enforces:
 * - setting it up, new codes and turning it off each need a fresh first-factor proof: the
 *   password typed in that form (an account without one: a sign-in from the last few minutes),
 *   so a session cookie alone changes nothing; a started setup lapses after the same minutes,
 *   and only the browser that started it sees its key and confirms it (a cookie of its own), so
 *   a copy of the session cookie cannot take over a setup the owner started;
 * - a TOTP secret counts only once the person has typed a code it produced (setup page);
 * - recovery codes are shown once, in the answer to the post that made them, never again;
 * - new codes need the password; turning it off needs the password and a current code (or a
 *   recovery code), and every code counts, before it is checked, against the same TOTP limit
 *   the sign-in step uses;
 * - each change ends every other session and grant of the account.
 */
const SETUP_PATH = '/account/mfa/setup';

const backToAccount = (ctx: Context) => {
  ctx.status = 303;
  ctx.redirect('/account');
};

const ON_ACCOUNT = {
  action: '/account/mfa/confirm',
  lead: 'Scan this code with an authenticator app, then type the six-digit code it shows.',
  back: '/account',
};

const showSetup = (ctx: Context, deps: AccountDeps, enrolment: Enrolment, status = 200, error?: string) =>
  showTotpSetup(ctx, deps.page, enrolment, ON_ACCOUNT, status, error);

const SETUP_COOKIE = 'tessera.mfa_setup';
const fingerprint = (enrolment: Enrolment) => sha256(enrolment.secret);

/** The pending setup, if this browser started it. */
async function setupOfThisBrowser(ctx: Context, deps: AccountDeps, user: { id: string; email: string }) {
  const enrolment = await pendingEnrolment(deps.db, deps.secrets, user);
  const started = ctx.cookies.get(SETUP_COOKIE, { signed: true });
  return enrolment && started === fingerprint(enrolment) ? enrolment : undefined;
}

export const startMfa = requireSignIn(async (ctx, deps, who) => {
  const { user } = who;
  if (await hasTotp(deps.db, user.id)) return backToAccount(ctx);
  const wrong = await proveFirstFactor(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) return render(ctx, deps, who, wrong.status, { mfaStartError: wrong.error });
  const enrolment = await startTotpEnrolment(deps.db, deps.secrets, user);
  ctx.cookies.set(SETUP_COOKIE, fingerprint(enrolment), {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    path: '/account/mfa',
    maxAge: FRESH_PROOF_SECONDS * 1000,
  });
  await deps.audit({ type: 'mfa.enrolment_started', userId: user.id, ...seenIn(ctx) });
  ctx.status = 303;
  ctx.redirect(SETUP_PATH);
});

/** A reload shows the same secret again; a new one is only made by starting over. */
export const showMfaSetup = requireSignIn(async (ctx, deps, { user }) => {
  const enrolment = await setupOfThisBrowser(ctx, deps, user);
  if (!enrolment) return backToAccount(ctx);
  showSetup(ctx, deps, enrolment);
});

export const confirmMfa = requireSignIn(async (ctx, deps, { user, sessionUid }) => {
  const enrolment = await setupOfThisBrowser(ctx, deps, user);
  if (!enrolment) return backToAccount(ctx);
  const codes = await changeEndingOtherSessions(deps, {
    userId: user.id,
    keepSessionUid: sessionUid,
    change: 'mfa_enabled',
    seen: seenIn(ctx),
    make: async (trx) => (await confirmTotpEnrolment(trx, deps.secrets, user.id, formField(ctx, 'code'))) ?? false,
    audited: { type: 'mfa.enabled', userId: user.id, ...seenIn(ctx) },
  });
  if (!codes) {
    const error = 'That code is not right. Type the code your app shows now.';
    return showSetup(ctx, deps, enrolment, 400, error);
  }
  ctx.cookies.set(SETUP_COOKIE, null, { path: '/account/mfa' });
  showRecoveryCodes(ctx, deps.page, codes);
});

export const newRecoveryCodes = requireSignIn(async (ctx, deps, who) => {
  if (!(await hasTotp(deps.db, who.user.id))) return backToAccount(ctx);
  const wrong = await proveFirstFactor(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) return render(ctx, deps, who, wrong.status, { mfaCodesError: wrong.error });
  const codes = await changeEndingOtherSessions(deps, {
    userId: who.user.id,
    keepSessionUid: who.sessionUid,
    change: 'recovery_codes_regenerated',
    seen: seenIn(ctx),
    make: (trx) => regenerateRecoveryCodes(trx, who.user.id),
    audited: { type: 'mfa.recovery_codes_regenerated', userId: who.user.id, ...seenIn(ctx) },
  });
  if (!codes) return backToAccount(ctx);
  showRecoveryCodes(ctx, deps.page, codes);
});

export const disableMfa = requireSignIn(async (ctx, deps, who) => {
  const { user } = who;
  if (!(await hasTotp(deps.db, user.id))) return backToAccount(ctx);
  const refuse = async (reason: string, status: number, error: string) => {
    await deps.audit({ type: 'mfa.disable_failed', userId: user.id, ...seenIn(ctx), details: { reason } });
    return render(ctx, deps, who, status, { mfaOffError: error });
  };
  const wrong = await proveFirstFactor(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) return refuse(wrong.status === 429 ? 'rate_limited' : 'password', wrong.status, wrong.error);
  const limit = await deps.rateLimiter.attempt('totp_account', user.id);
  if (!limit.allowed) return refuse('rate_limited', 429, tooManyAttempts(ctx, limit.retryAfterSeconds));
  const used = await verifySecondFactor(deps.db, deps.secrets, user.id, formField(ctx, 'code'));
  if (!used) {
    return refuse('code', 400, 'That code is not right. Type the code your app shows now, or a recovery code.');
  }
  await limit.succeeded();
  await changeEndingOtherSessions(deps, {
    userId: user.id,
    keepSessionUid: who.sessionUid,
    change: 'mfa_disabled',
    seen: seenIn(ctx),
    make: async (trx) => {
      await removeMfa(trx, user.id);
      return true;
    },
    audited: { type: 'mfa.disabled', userId: user.id, ...seenIn(ctx), details: { with: used } },
  });
  done(ctx, 'mfa-off');
});
