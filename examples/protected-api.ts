/**
 * An API of your own that accepts Tessera's access tokens: copy this file into your service.
 *
 * Every request to a protected route gets one of three answers (RFC 6750 §3):
 * - no bearer token: 401 with a bare `Bearer` challenge, which tells the caller how to authenticate;
 * - a token that is not a valid, unexpired Tessera access token for this API: 401 invalid_token;
 * - a valid token whose `roles` claim lacks the required role: 403 insufficient_scope.
 *
 * ISSUER=http://localhost:3000 AUDIENCE=https://api.example.com/reports REQUIRED_ROLE=reports.reader \
 *   PORT=4000 node examples/protected-api.ts
 */
import Router from '@koa/router';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
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

  async function authenticate(ctx: Context, next: Next) {
    const token = /^Bearer +(\S+) *$/i.exec(ctx.get('authorization'))?.[1];
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
