import { deleteIdentity } from '../../db/repositories/federated-identities.ts';
import { changeEndingOtherSessions } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import { GitHubError } from '../federation/github.ts';
import { linkGitHub } from '../federation/github-accounts.ts';
import { GITHUB_REFUSALS } from '../federation/github-failures.ts';
import { finishGitHub, ACCOUNT_RETURN as RETURN_TO, startGitHub } from '../federation/github-flow.ts';
import { formField } from '../interaction/interaction.ts';
import { done, proveFirstFactor, render, requireSignIn } from './account.ts';

/**
 * GitHub on /account: link it (a round trip to GitHub from the signed-in account) and unlink it.
 * Both are a change of how the account signs in, so both need the password (or, without one, a
 * fresh sign-in): a linked GitHub is a way in that outlives a password change, and must not be
 * added by someone holding only the session cookie. Unlinking is refused while GitHub is the only
 * way in, that is, while no password is set. Either change, once done, ends every other session
 * and grant of the account.
 */

export const startGitHubLink = requireSignIn(async (ctx, deps, who) => {
  const wrong = await proveFirstFactor(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) return render(ctx, deps, who, wrong.status, { githubError: wrong.error });
  await startGitHub(ctx, deps, RETURN_TO, who.user.id);
});

export const finishGitHubLink = requireSignIn(async (ctx, deps, who) => {
  const audited = { userId: who.user.id, ...seenIn(ctx) };
  const refuse = async (reason: keyof typeof GITHUB_REFUSALS) => {
    await deps.audit({ type: 'github.failed', ...audited, details: { reason, during: 'account' } });
    const { status, message } = GITHUB_REFUSALS[reason];
    return render(ctx, deps, who, status, { githubError: message });
  };
  try {
    // Bound to the account that started it: signing in as someone else meanwhile voids it.
    const profile = await finishGitHub(ctx, deps, RETURN_TO, who.user.id);
    const linked = await changeEndingOtherSessions(deps, {
      userId: who.user.id,
      keepSessionUid: who.sessionUid,
      change: 'github_linked',
      seen: seenIn(ctx),
      make: (trx) => linkGitHub(trx, who.user.id, profile),
      audited: { type: 'github.linked', ...audited, details: { github_id: profile.id, during: 'account' } },
    });
    if (!linked) return refuse('already_linked');
    done(ctx, 'github-linked');
  } catch (err) {
    if (!(err instanceof GitHubError)) throw err;
    deps.logger.warn({ reason: err.reason, err: err.message }, 'GitHub link failed');
    return refuse(err.reason);
  }
});

export const unlinkGitHub = requireSignIn(async (ctx, deps, who) => {
  if (!who.user.password_hash) {
    return render(ctx, deps, who, 409, {
      githubError: 'GitHub is the only way you sign in. Set a password first, then unlink GitHub.',
    });
  }
  const wrong = await proveFirstFactor(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) return render(ctx, deps, who, wrong.status, { githubError: wrong.error });
  await changeEndingOtherSessions(deps, {
    userId: who.user.id,
    keepSessionUid: who.sessionUid,
    change: 'github_unlinked',
    seen: seenIn(ctx),
    make: (trx) => deleteIdentity(trx, who.user.id, 'github'),
    audited: { type: 'github.unlinked', userId: who.user.id, ...seenIn(ctx) },
  });
  done(ctx, 'github-unlinked');
});
