import type { Context } from 'koa';
import * as oauth from 'oauth4webapi';
import type { Db } from '../../db/database.ts';
import { spendOnce } from '../../db/repositories/spent-states.ts';
import { INTERACTION_UID } from '../interaction/uid.ts';
import { randomToken, type Secrets, sha256 } from '../secrets.ts';
import { type Upstream, UpstreamError, type UpstreamFlow, type UpstreamIdentity } from './upstream.ts';

/**
 * One round trip to an upstream connection from a sign-in (an interaction). The upstream returns
 * to the connection's one registered callback, so `state` starts with the interaction's uid, and
 * the callback relays the browser there. Rules this file enforces:
 * - the state, PKCE verifier and nonce wait in an encrypted cookie of this browser, cleared on the
 *   first answer whatever it is: a forged or stale callback finds no match;
 * - a state is spent once, in the database: a replayed callback, even with the old cookie and
 *   racing the first, gets nowhere.
 */
const COOKIE = 'tessera_upstream';
const FLOW_TTL_MS = 10 * 60 * 1000;

export interface UpstreamFlowDeps {
  db: Db;
  secrets: Secrets;
}

interface Pending extends UpstreamFlow {
  connectionId: string;
}

export const connectionCallbackPath = (connectionId: string) => `/connections/${connectionId}/callback`;

/** Sends the browser to the upstream for the interaction `uid`. */
export async function startUpstream(
  ctx: Context,
  deps: UpstreamFlowDeps,
  connectionId: string,
  upstream: Upstream,
  uid: string,
) {
  const pending: Pending = {
    state: `${uid}.${randomToken(16)}`,
    codeVerifier: oauth.generateRandomCodeVerifier(),
    nonce: oauth.generateRandomNonce(),
    connectionId,
  };
  const url = await upstream.authorizationUrl(pending);
  ctx.cookies.set(COOKIE, deps.secrets.encrypt(JSON.stringify(pending)), {
    httpOnly: true,
    // The upstream sends the browser back with a top-level GET, which Lax cookies go along with.
    sameSite: 'lax',
    maxAge: FLOW_TTL_MS,
  });
  ctx.status = 303;
  ctx.redirect(url.href);
}

/** The person the upstream sent back to the interaction `uid`; throws UpstreamError for every way it went wrong. */
export async function finishUpstream(
  ctx: Context,
  deps: UpstreamFlowDeps,
  connectionId: string,
  upstream: Upstream,
  uid: string,
): Promise<UpstreamIdentity> {
  const pending = openPending(deps.secrets, ctx.cookies.get(COOKIE));
  ctx.cookies.set(COOKIE, null);
  const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
  if (!pending || pending.state !== state || !state.startsWith(`${uid}.`) || pending.connectionId !== connectionId) {
    throw new UpstreamError('state_mismatch', 'the callback does not match a sign-in this browser started');
  }
  if (!(await spendOnce(deps.db, sha256(`upstream-state|${state}`), new Date(Date.now() + FLOW_TTL_MS)))) {
    throw new UpstreamError('state_mismatch', 'this callback was already used');
  }
  return upstream.identity(new URLSearchParams(ctx.querystring), pending);
}

function openPending(secrets: Secrets, sealed: string | undefined): Pending | undefined {
  if (!sealed) return undefined;
  try {
    const value = JSON.parse(secrets.decrypt(sealed)) as Partial<Pending>;
    const { state, codeVerifier, nonce, connectionId } = value;
    if (![state, codeVerifier, nonce, connectionId].every((v) => typeof v === 'string')) return undefined;
    return value as Pending;
  } catch {
    return undefined;
  }
}

/** Where a connection's callback sends the browser on, or undefined for a state no flow made. */
export function upstreamRelayTarget(connectionId: string, state: unknown): string | undefined {
  const uid = typeof state === 'string' ? state.split('.')[0] : undefined;
  if (!uid || !INTERACTION_UID.test(uid) || !CONNECTION_ID.test(connectionId)) return undefined;
  return `/interaction/${uid}/connections/${connectionId}/callback`;
}

/** What a connection id looks like: hex, or 'github'. */
const CONNECTION_ID = /^[A-Za-z0-9_-]{1,64}$/;
