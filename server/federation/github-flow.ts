import type { Context } from 'koa';
import * as oauth from 'oauth4webapi';
import { AppError } from '../errors.ts';
import { INTERACTION_UID } from '../interaction/uid.ts';
import { randomToken, type Secrets } from '../secrets.ts';
import { type GitHub, GitHubError, type GitHubProfile } from './github.ts';

/**
 * One round trip to GitHub, from whichever page started it: an interaction (its uid) or the
 * account page ('account'). GitHub only returns to the one callback URL registered for the app,
 * so `state` starts with where the browser goes next, and the callback relays it there; the
 * page that started the flow is the one that finishes it, with its own cookies in hand.
 *
 * The state and PKCE verifier wait in an encrypted cookie of this browser, spent on the first
 * answer whatever it is: a forged, stale or replayed callback finds no match.
 */
export const GITHUB_CALLBACK_PATH = '/github/callback';
const COOKIE = 'tessera_github';
const FLOW_TTL_MS = 10 * 60 * 1000;
/** The `returnTo` of a flow started on the account page. */
export const ACCOUNT_RETURN = 'account';

export interface GitHubFlowDeps {
  github: GitHub | undefined;
  secrets: Secrets;
}

interface Pending {
  state: string;
  verifier: string;
  /** The account the flow is for, when it starts from one (linking on /account). */
  account?: string;
}

function configuredGitHub(deps: GitHubFlowDeps): GitHub {
  if (!deps.github) throw new AppError('not_found', 'GitHub sign-in is not set up on this server.');
  return deps.github;
}

/** Sends the browser to GitHub; `returnTo` is an interaction uid or 'account' (with the account's id). */
export async function startGitHub(ctx: Context, deps: GitHubFlowDeps, returnTo: string, account?: string) {
  const github = configuredGitHub(deps);
  const pending: Pending = {
    state: `${returnTo}.${randomToken(16)}`,
    verifier: oauth.generateRandomCodeVerifier(),
    ...(account ? { account } : {}),
  };
  ctx.cookies.set(COOKIE, deps.secrets.encrypt(JSON.stringify(pending)), {
    httpOnly: true,
    // GitHub sends the browser back with a top-level GET, which Lax cookies go along with.
    sameSite: 'lax',
    maxAge: FLOW_TTL_MS,
  });
  ctx.status = 303;
  ctx.redirect((await github.authorizationUrl(pending.state, pending.verifier)).href);
}

/** The person GitHub sent back to `returnTo`; throws GitHubError for every way it went wrong. */
export async function finishGitHub(
  ctx: Context,
  deps: GitHubFlowDeps,
  returnTo: string,
  account?: string,
): Promise<GitHubProfile> {
  const github = configuredGitHub(deps);
  const pending = openPending(deps.secrets, ctx.cookies.get(COOKIE));
  ctx.cookies.set(COOKIE, null);
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
  if (!pending || pending.state !== state || !state.startsWith(`${returnTo}.`) || pending.account !== account) {
    throw new GitHubError('state_mismatch', 'the callback does not match a GitHub sign-in this browser started');
  }
  return github.profile(new URLSearchParams(ctx.querystring), pending.state, pending.verifier);
}

function openPending(secrets: Secrets, sealed: string | undefined): Pending | undefined {
  if (!sealed) return undefined;
  try {
    const value = JSON.parse(secrets.decrypt(sealed)) as Partial<Pending>;
    if (typeof value.state !== 'string' || typeof value.verifier !== 'string') return undefined;
    return { state: value.state, verifier: value.verifier, ...(value.account ? { account: value.account } : {}) };
  } catch {
    return undefined;
  }
}

/** Where the registered callback sends the browser on, or undefined for a state no flow made. */
export function relayTarget(state: unknown): string | undefined {
  const returnTo = typeof state === 'string' ? state.split('.')[0] : undefined;
  if (returnTo === ACCOUNT_RETURN) return '/account/github/callback';
  if (returnTo && INTERACTION_UID.test(returnTo)) return `/interaction/${returnTo}/github/callback`;
  return undefined;
}
