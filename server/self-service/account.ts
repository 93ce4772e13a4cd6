import type { Context } from 'koa';
import { listArtifactsOf } from '../../adapters/account-artifacts.ts';
import { artifactKey } from '../../adapters/artifact-key.ts';
import { connectionIdentitiesOf } from '../../db/repositories/connections.ts';
import { identityOfUser } from '../../db/repositories/federated-identities.ts';
import { listPasskeysOf } from '../../db/repositories/passkeys.ts';
import { findUserById, findUserByLogin, updatePasswordHash, updateProfile } from '../../db/repositories/users.ts';
import type { User } from '../../db/schema.ts';
import { changeEndingOtherSessions } from '../accounts/other-sessions.ts';
import { passwordProblemFor } from '../accounts/password-policy.ts';
import { hashPassword, verifyPassword } from '../accounts/passwords.ts';
import { fullNameField, usernameField } from '../accounts/signup.ts';
import { deleteUserAndSessions } from '../accounts/users.ts';
import { keepingAnAdmin, LastAdminError } from '../admin-api/last-admin.ts';
import { seenIn } from '../audit/audit.ts';
import { formField, type InteractionDeps, tooManyAttempts } from '../interaction/interaction.ts';
import { hasTotp, recoveryCodesLeft } from '../mfa/factors.ts';
import { isFresh } from '../mfa/fresh-proof.ts';
import { ACCOUNT_CALLBACK_PATH, ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import { browserSession, startFirstPartySignIn } from '../oidc/first-party-sign-in.ts';
import { passwordAttemptLimits } from '../rate-limit/login-limits.ts';

/**
 * /account: the signed-in person's profile, password, two-step verification (account-mfa.ts),
 * passkeys (account-passkeys.ts),
 * sessions and app grants (account-sessions.ts), and deleting the account. Who is signed in comes
 * from oidc-provider's own session cookie; signing in goes through the built-in account client
 * like any app. Each form posts, then redirects back with a note of what was done
 * (post/redirect/get), or shows its error in place. A new or changed password ends every other
 * session and grant of the account; this browser's session stays.
 */
/** The same as every interaction step gets: the account page signs in through the provider too. */
export type AccountDeps = InteractionDeps;

export interface SignedIn {
  user: User;
  sessionId: string;
  /** The key this session is stored and listed under; the page never shows the cookie itself. */
  sessionKey: string;
  /** The session's uid, which names it in the store whatever form its id is kept in. */
  sessionUid: string;
  /** When this session's sign-in happened, in seconds since the epoch. */
  loginTs: number;
}

const DONE: Record<string, string> = {
  profile: 'Your profile was saved.',
  password: 'Your password was changed. Every other session was signed out.',
  'password-set':
    'Your password is set. You can now also sign in with your email and password. Every other session was signed out.',
  session: 'The session was signed out.',
  grant: 'The app no longer has access to your account.',
  'mfa-off': 'Two-step verification was turned off. Every other session was signed out.',
  'github-linked': 'Your GitHub account is linked. You can now sign in with it. Every other session was signed out.',
  'github-unlinked': 'GitHub is no longer linked to your account. Every other session was signed out.',
  'passkey-added': 'Your passkey was added. Every other session was signed out.',
  'passkey-removed': 'The passkey was removed. Every other session was signed out.',
};

async function signedIn(ctx: Context, deps: AccountDeps): Promise<SignedIn | undefined> {
  const found = await browserSession(ctx, deps.provider());
  const session = found?.session;
  const user = session?.accountId ? await findUserById(deps.db, session.accountId) : undefined;
  if (!found || !session || !user || user.disabled_at) return undefined;
  const sessionId = found.id;
  return {
    user,
    sessionId,
    sessionKey: artifactKey(sessionId),
    sessionUid: session.uid,
    loginTs: Number(session.loginTs),
  };
}

/** Runs `handler` for a signed-in person, or shows how to sign in. */
export function requireSignIn(handler: (ctx: Context, deps: AccountDeps, who: SignedIn) => Promise<void>) {
  return async (ctx: Context, deps: AccountDeps) => {
    const who = await signedIn(ctx, deps);
    if (who) return handler(ctx, deps, who);
    deps.page(
      ctx,
      'message',
      {
        title: 'Your account',
        heading: 'Sign in to manage your account',
        message: 'Your profile, password, sessions and the apps you use are here once you sign in.',
        link: { href: '/account/sign-in', text: 'Sign in' },
      },
      ctx.method === 'GET' ? 200 : 401,
    );
  };
}

/** Starts a sign-in through the account client; the code it returns is not needed, the session is. */
export async function startAccountSignIn(ctx: Context, deps: AccountDeps) {
  startFirstPartySignIn(
    ctx,
    deps.issuer,
    { id: ACCOUNT_CLIENT_ID, callbackPath: ACCOUNT_CALLBACK_PATH },
    // ?again asks for the sign-in itself, not only a session, as a fresh sign-in for a change.
    ctx.query.again !== undefined ? { prompt: 'login' } : {},
  );
}

export async function finishAccountSignIn(ctx: Context) {
  ctx.status = 303;
  ctx.redirect('/account');
}

/** The account page; `notice` adds what a failed form needs to show in place. */
export async function render(
  ctx: Context,
  deps: AccountDeps,
  who: SignedIn,
  status = 200,
  notice: Record<string, unknown> = {},
) {
  const provider = deps.provider();
  // One lookup per app, however many sessions and grants name it.
  const names = new Map<string, Promise<string>>();
  const clientName = (clientId: string) => {
    const name =
      names.get(clientId) ??
      provider.Client.find(clientId).then((c: { clientName?: string } | undefined) => c?.clientName ?? clientId);
    names.set(clientId, name);
    return name;
  };
  const [sessions, allGrants, github, mfaOn, connections, passkeys] = await Promise.all([
    listArtifactsOf(deps.db, who.user.id, 'Session'),
    listArtifactsOf(deps.db, who.user.id, 'Grant'),
    identityOfUser(deps.db, who.user.id, 'github'),
    hasTotp(deps.db, who.user.id),
    connectionIdentitiesOf(deps.db, who.user.id),
    listPasskeysOf(deps.db, who.user.id),
  ]);
  const grants = allGrants.filter((g) => g.payload.clientId !== ACCOUNT_CLIENT_ID);
  const at = (seconds: unknown) => new Date(Number(seconds) * 1000).toUTCString();
  deps.page(
    ctx,
    'account',
    {
      title: 'Your account',
      user: who.user,
      done: DONE[String(ctx.query.done)] ?? undefined,
      mfa: mfaOn ? { on: true, codesLeft: await recoveryCodesLeft(deps.db, who.user.id) } : { on: false },
      hasPassword: !!who.user.password_hash,
      passkeys: passkeys.map((p) => ({
        id: p.id,
        name: p.name,
        created: p.created_at.toUTCString(),
        lastUsed: p.last_used_at?.toUTCString(),
      })),
      passkeyScripts: true,
      github: {
        offered: !!deps.github,
        linked: github && { login: github.display_name, since: github.linked_at.toUTCString() },
      },
      connections: connections.map((c) => ({ name: c.name, as: c.display_name, since: c.linked_at.toUTCString() })),
      sessions: await Promise.all(
        sessions.map(async (s) => ({
          id: s.key,
          current: s.key === who.sessionKey,
          since: at(s.payload.loginTs),
          apps: await Promise.all(
            Object.keys((s.payload.authorizations ?? {}) as object)
              .filter((id) => id !== ACCOUNT_CLIENT_ID)
              .map(clientName),
          ),
        })),
      ),
      grants: await Promise.all(
        grants.map(async (g) => ({
          id: g.key,
          app: await clientName(String(g.payload.clientId)),
          scopes: String((g.payload.openid as { scope?: string } | undefined)?.scope ?? ''),
          since: at(g.payload.iat),
        })),
      ),
      ...notice,
    },
    status,
  );
}

export const done = (ctx: Context, what: keyof typeof DONE) => {
  ctx.status = 303;
  ctx.redirect(`/account?done=${what}`);
};

/**
 * The fresh first-factor proof a change of how the account signs in needs: the password typed in the form,
 * or, for an account without one (GitHub or a passkey only), a sign-in from the last few minutes. Undefined
 * when proved, else what to show.
 */
export async function proveFirstFactor(ctx: Context, deps: AccountDeps, who: SignedIn, password: string) {
  if (who.user.password_hash) return checkPassword(ctx, deps, who, password);
  if (isFresh(who.loginTs)) return undefined;
  return { status: 403, error: 'This change needs a recent sign-in. Sign in again, then make it.' };
}

/**
 * A current password typed here spends the limits a sign-in with it would (per address, per
 * account from everywhere, or the known browser's own), so the account page is no side door for
 * someone holding only the session cookie.
 */
export async function checkPassword(ctx: Context, deps: AccountDeps, who: SignedIn, password: string) {
  const spent = await deps.rateLimiter.attemptAll(passwordAttemptLimits(ctx, deps.secrets, '', who.user));
  if (!spent.allowed) {
    const details = { limit: spent.limit, during: 'account' };
    await deps.audit({ type: 'rate_limit.hit', userId: who.user.id, ...seenIn(ctx), details });
    return { status: 429, error: tooManyAttempts(ctx, spent.retryAfterSeconds) };
  }
  if (who.user.password_hash && (await verifyPassword(who.user.password_hash, password))) {
    await spent.succeeded();
    return undefined;
  }
  await deps.audit({ type: 'password.check_failed', userId: who.user.id, ...seenIn(ctx) });
  return { status: 400, error: 'Your current password is not right.' };
}

export const showAccount = requireSignIn((ctx, deps, who) => render(ctx, deps, who));

export const saveProfile = requireSignIn(async (ctx, deps, who) => {
  const name = fullNameField.safeParse(formField(ctx, 'full_name'));
  const username = usernameField.safeParse(formField(ctx, 'username').trim());
  const errors: Record<string, string> = {};
  const refuse = () => {
    // Shown again as typed, so fixing one field does not undo the other.
    const typed = { ...who.user, name: formField(ctx, 'full_name'), username: formField(ctx, 'username') };
    return render(ctx, deps, { ...who, user: typed }, 400, { profileErrors: errors });
  };
  const taken = 'That username is taken. Try another.';
  if (!name.success) errors.full_name = name.error.issues[0]?.message ?? '';
  if (!username.success) errors.username = username.error.issues[0]?.message ?? '';
  if (username.success) {
    const owner = await findUserByLogin(deps.db, username.data);
    if (owner && owner.id !== who.user.id) errors.username = taken;
  }
  if (!name.success || !username.success || errors.username) return refuse();
  try {
    await updateProfile(deps.db, who.user.id, { name: name.data, username: username.data });
  } catch (err) {
    // Someone else saved the same username since the check: the unique index decided.
    if ((err as { code?: string }).code !== '23505') throw err;
    errors.username = taken;
    return refuse();
  }
  await deps.audit({ type: 'profile.updated', userId: who.user.id, ...seenIn(ctx) });
  done(ctx, 'profile');
});

export const changePassword = requireSignIn(async (ctx, deps, who) => {
  // The first password of an account made through GitHub has no current one to check; a sign-in
  // from the last 5 minutes (as for every change of how the account signs in) stands in for it,
  // so an old forgotten session cannot add a way in.
  const first = !who.user.password_hash;
  if (first && !isFresh(who.loginTs)) {
    return render(ctx, deps, who, 403, { signInAgain: true });
  }
  const wrong = first ? undefined : await checkPassword(ctx, deps, who, formField(ctx, 'current_password'));
  if (wrong) return render(ctx, deps, who, wrong.status, { passwordError: wrong.error });
  const password = formField(ctx, 'password');
  const { user } = who;
  const problem = await passwordProblemFor(password, user);
  if (problem) return render(ctx, deps, who, 400, { passwordError: problem });
  const hash = await hashPassword(password);
  await changeEndingOtherSessions(deps, {
    userId: user.id,
    keepSessionUid: who.sessionUid,
    change: first ? 'password_set' : 'password_changed',
    seen: seenIn(ctx),
    make: async (trx) => {
      await updatePasswordHash(trx, user.id, hash);
      return true;
    },
    audited: { type: first ? 'password.set' : 'password.changed', userId: user.id, ...seenIn(ctx) },
  });
  done(ctx, first ? 'password-set' : 'password');
});

export const deleteAccount = requireSignIn(async (ctx, deps, who) => {
  const wrong = await checkPassword(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) return render(ctx, deps, who, wrong.status, { deleteError: wrong.error });
  try {
    await keepingAnAdmin(deps.db, (trx) => deleteUserAndSessions(trx, who.user.id));
  } catch (err) {
    if (!(err instanceof LastAdminError)) throw err;
    const deleteError =
      'You are the only administrator. Give someone else the admin role before you delete your account.';
    return render(ctx, deps, who, 409, { deleteError });
  }
  await deps.audit({ type: 'account.deleted', userId: who.user.id, ...seenIn(ctx) });
  deps.page(ctx, 'message', {
    title: 'Account deleted',
    heading: 'Your account has been deleted',
    message: 'Your profile, sessions and app access are gone. Thank you for having been here.',
  });
});
