/**
 * An API of your own that accepts Tessera's access tokens: copy this file into your service.
 *
 * Every request to a protected route gets one of three answers (RFC 6750 §3):
 * - no bearer token: 401 with a bare `Bearer` challenge, which tells the caller how to authenticate;
 * - a token that is not a valid, unexpired Tessera access token for this API: 401 invalid_token;
 * - a valid token whose `roles` claim lacks the required role: 403 insufficient_scope.
 *
 * A DPoP-bound token (RFC 9449: its `cnf.jkt` names the client's key) counts only when sent as
 * `Authorization: DPoP <token>` with a fresh DPoP proof signed by that key for this request; a
 * stolen one, sent as Bearer or with a proof by another key, is refused like a bad token.
 *
 * ISSUER=http://localhost:3000 AUDIENCE=https://api.example.com/reports REQUIRED_ROLE=reports.reader \
 *   PORT=4000 node examples/protected-api.ts
 */

import { createHash } from 'node:crypto';
import Router from '@koa/router';
import {
  base64url,
  calculateJwkThumbprint,
  createRemoteJWKSet,
  EmbeddedJWK,
  errors,
  type JWTPayload,
  jwtVerify,
} from 'jose';
import Koa, { type Context, type Next } from 'koa';

export interface ProtectedApiOptions {
  /** Tessera's public URL: the `iss` of its tokens, and where its keys are published. */
  issuer: string;
  /** This API's audience, as registered with `tessera apis create --audience`. */
  audience: string;
  /** The role a caller needs in the token's `roles` claim. */
  requiredRole: string;
}

const REALM = 'reports';

// jose's errors about the key set itself (Tessera unreachable, not 200, not JSON) are not the
// caller's fault: they stay errors (500) instead of passing for a bad token.
const KEY_SET_TROUBLE = new Set(['ERR_JOSE_GENERIC', 'ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID']);

export function createProtectedApi({ issuer, audience, requiredRole }: ProtectedApiOptions): Koa {
  // Fetched on first use, cached, and fetched again when a token names a key it has not seen yet,
  // so Tessera's key rotations need nothing from this API.
  const jwks = createRemoteJWKSet(new URL('/jwks', issuer));

  const seenProofs = new ProofReplayCache();

  async function authenticate(ctx: Context, next: Next) {
    const [, scheme, token] = /^(Bearer|DPoP) +(\S+) *$/i.exec(ctx.get('authorization')) ?? [];
    if (!token) return refuse(ctx, 401, undefined, { error: 'unauthorized', error_description: 'a token is required' });
    try {
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        // Tokens Tessera issues for any of its APIs verify against the same keys; only the
        // audience tells that this one was issued for this API.
        audience,
        // RFC 9068: access tokens are typed at+jwt. ID tokens are signed by the same issuer and
        // must never be accepted as access tokens.
        typ: 'at+jwt',
        algorithms: ['ES256', 'RS256'],
      });
      const jkt = (payload.cnf as { jkt?: unknown } | undefined)?.jkt;
      const isDpop = scheme?.toLowerCase() === 'dpop';
      // A bound token only with its proof; an unbound one only as Bearer (RFC 9449 §7.1).
      if (jkt !== undefined || isDpop) {
        if (!isDpop || !(await dpopProofMatches(ctx, token, String(jkt), seenProofs))) {
          throw new errors.JWTClaimValidationFailed('DPoP proof missing or wrong', payload, 'cnf');
        }
      }
      ctx.state.token = payload;
    } catch (err) {
      if (!(err instanceof errors.JOSEError) || KEY_SET_TROUBLE.has(err.code)) throw err;
      const body = { error: 'invalid_token', error_description: 'the access token is invalid or expired' };
      return refuse(ctx, 401, 'invalid_token', body);
    }
    await next();
  }

  async function requireRole(ctx: Context, next: Next) {
    const { roles } = ctx.state.token as JWTPayload;
    if (!Array.isArray(roles) || !roles.includes(requiredRole)) {
      const body = { error: 'forbidden', error_description: `requires role ${requiredRole}` };
      return refuse(ctx, 403, 'insufficient_scope', body);
    }
    await next();
  }

  const router = new Router();
  router.get('/reports', authenticate, requireRole, (ctx) => {
    const { sub } = ctx.state.token as JWTPayload;
    ctx.body = { reports: [{ id: '2026-q1', title: 'First quarter' }], caller: sub };
  });
  const app = new Koa();
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

/**
 * RFC 9449 §4.3: the DPoP header is one JWT, typed dpop+jwt, signed by the key it carries, whose
 * thumbprint is the token's `cnf.jkt`, made for this method and URL, for this token (`ath`),
 * within the last minute, and never seen before.
 */
async function dpopProofMatches(ctx: Context, token: string, jkt: string, seen: ProofReplayCache): Promise<boolean> {
  const proof = ctx.get('dpop');
  if (!proof || proof.includes(',')) return false;
  try {
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'RS256', 'PS256', 'EdDSA'],
      maxTokenAge: '60s',
      requiredClaims: ['jti', 'htm', 'htu', 'iat', 'ath'],
    });
    const url = `${ctx.protocol}://${ctx.host}${ctx.path}`;
    return (
      (await calculateJwkThumbprint(protectedHeader.jwk ?? {})) === jkt &&
      payload.htm === ctx.method &&
      payload.htu === url &&
      payload.ath === base64url.encode(createHash('sha256').update(token).digest()) &&
      seen.firstUse(String(payload.jti))
    );
  } catch {
    return false;
  }
}

/** The jti of each DPoP proof accepted in the last minute and a bit: a proof counts once. */
class ProofReplayCache {
  readonly #seen = new Map<string, number>();

  firstUse(jti: string): boolean {
    const now = Date.now();
    for (const [id, until] of this.#seen) if (until < now) this.#seen.delete(id);
    if (this.#seen.has(jti)) return false;
    this.#seen.set(jti, now + 120_000);
    return true;
  }
}

/** A Bearer challenge; the error code only when a token was presented (RFC 6750 §3.1). */
function refuse(ctx: Context, status: 401 | 403, error: string | undefined, body: object) {
  ctx.set('WWW-Authenticate', `Bearer realm="${REALM}"${error ? `, error="${error}"` : ''}`);
  ctx.status = status;
  ctx.body = body;
}

if (import.meta.main) {
  const { ISSUER, AUDIENCE, REQUIRED_ROLE, PORT = '4000' } = process.env;
  if (!ISSUER || !AUDIENCE || !REQUIRED_ROLE) throw new Error('Set ISSUER, AUDIENCE and REQUIRED_ROLE.');
  createProtectedApi({ issuer: ISSUER, audience: AUDIENCE, requiredRole: REQUIRED_ROLE }).listen(Number(PORT), () =>
    console.log(`reports API on http://localhost:${PORT}/reports`),
  );
}
