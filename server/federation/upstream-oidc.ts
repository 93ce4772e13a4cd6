import * as oauth from 'oauth4webapi';
import { isTimeout, UPSTREAM_TIMEOUT_MS, type Upstream, UpstreamError, type UpstreamIdentity } from './upstream.ts';

/**
 * An upstream OpenID Provider, spoken through oauth4webapi. Rules this file enforces:
 * - the provider's endpoints come from its discovery document, whose `issuer` must be the one
 *   the operator configured; it is fetched again after DISCOVERY_TTL_MS, never kept on failure;
 * - every authorization uses code + PKCE (S256), a `state` and a `nonce`;
 * - the ID token is verified: its signature against a key of the provider's JWKS (even though
 *   it came straight from the token endpoint), `iss`, `aud` (and `azp`), `exp`, `iat`, `nonce`;
 * - claims the ID token lacks (`email`, `name`, …) are read from userinfo, whose `sub` must match;
 * - http is spoken only where the operator wrote http; every request has a timeout;
 * - errors are reduced to an UpstreamError reason and message: the library's errors carry the
 *   token response (and so the tokens), and are never passed on or logged whole.
 */
export interface UpstreamOidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Scopes besides `openid`; `email profile` when none are given. */
  scopes: string[];
  /** This connection's callback URL, registered at the provider. */
  redirectUri: string;
}

const DISCOVERY_TTL_MS = 10 * 60 * 1000;
const DEFAULT_SCOPES = ['email', 'profile'];

export function createUpstreamOidc(settings: UpstreamOidcSettings): Upstream & { discover(): Promise<void> } {
  const issuer = new URL(settings.issuer);
  const client: oauth.Client = { client_id: settings.clientId };
  const options = {
    signal: () => AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    [oauth.allowInsecureRequests]: issuer.protocol === 'http:',
  };
  const scope = [...new Set(['openid', ...(settings.scopes.length ? settings.scopes : DEFAULT_SCOPES)])].join(' ');
  let discovered: { as: oauth.AuthorizationServer; at: number } | undefined;

  async function metadata(): Promise<oauth.AuthorizationServer> {
    if (discovered && Date.now() - discovered.at < DISCOVERY_TTL_MS) return discovered.as;
    const as = await talking('discovery', async () => {
      const response = await oauth.discoveryRequest(issuer, { ...options, algorithm: 'oidc' });
      return oauth.processDiscoveryResponse(issuer, response);
    });
    if (!as.authorization_endpoint || !as.token_endpoint || !as.jwks_uri) {
      throw new UpstreamError('unavailable', 'the discovery document lacks an authorization, token or jwks endpoint');
    }
    discovered = { as, at: Date.now() };
    return as;
  }

  /** Basic unless the provider says it only takes the secret in the body. */
  function clientAuth(as: oauth.AuthorizationServer): oauth.ClientAuth {
    const methods = as.token_endpoint_auth_methods_supported;
    return methods && !methods.includes('client_secret_basic') && methods.includes('client_secret_post')
      ? oauth.ClientSecretPost(settings.clientSecret)
      : oauth.ClientSecretBasic(settings.clientSecret);
  }

  return {
    async discover() {
      await metadata();
    },

    async authorizationUrl(flow) {
      const as = await metadata();
      const url = new URL(as.authorization_endpoint as string);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: settings.clientId,
        redirect_uri: settings.redirectUri,
        scope,
        state: flow.state,
        nonce: flow.nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(flow.codeVerifier),
        code_challenge_method: 'S256',
      }).toString();
      return url;
    },

    async identity(callback, flow) {
      const as = await metadata();
      const params = checkedCallback(as, client, callback, flow.state);
      const response = await talking('token', () =>
        oauth.authorizationCodeGrantRequest(
          as,
          client,
          clientAuth(as),
          params,
          settings.redirectUri,
          flow.codeVerifier,
          options,
        ),
      );
      const tokens = await tokenResponse(as, client, response, flow.nonce);
      await oauth.validateApplicationLevelSignature(as, response, options).catch((err) => {
        throw isIdTokenCheck(err)
          ? new UpstreamError('id_token_invalid', `the ID token was refused: ${err.message}`)
          : reduced('jwks', err);
      });
      const claims = oauth.getValidatedIdTokenClaims(tokens) as oauth.IDToken;
      let profile: Record<string, unknown> = claims;
      if (claims.email === undefined && as.userinfo_endpoint) {
        const info = await talking('userinfo', async () => {
          const answer = await oauth.userInfoRequest(as, client, tokens.access_token, options);
          return oauth.processUserInfoResponse(as, client, claims.sub, answer);
        });
        profile = { ...info, ...claims };
      }
      return identityOf(profile, claims);
    },
  };
}

function checkedCallback(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  callback: URLSearchParams,
  state: string,
): URLSearchParams {
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, callback, state);
  } catch (err) {
    if (err instanceof oauth.AuthorizationResponseError) {
      throw new UpstreamError(
        err.error === 'access_denied' ? 'access_denied' : 'authorization_error',
        `the provider answered ${err.error}`,
      );
    }
    throw new UpstreamError('state_mismatch', 'the callback does not match the sign-in that was started');
  }
  if (params.getAll('code').length !== 1 || !params.get('code')) {
    throw new UpstreamError('authorization_error', 'the callback does not carry one code');
  }
  return params;
}

/** The token response, its ID token's claims checked (all but the signature, checked next). */
async function tokenResponse(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  response: Response,
  nonce: string,
): Promise<oauth.TokenEndpointResponse> {
  try {
    return await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    });
  } catch (err) {
    if (err instanceof oauth.ResponseBodyError) {
      throw new UpstreamError(
        err.status < 500 ? 'code_rejected' : 'unavailable',
        `the token endpoint answered ${err.status} ${err.error}`,
      );
    }
    if (isIdTokenCheck(err)) {
      throw new UpstreamError('id_token_invalid', `the ID token was refused: ${err.message}`);
    }
    const status = err instanceof oauth.OperationProcessingError && err.cause instanceof Response && err.cause.status;
    throw new UpstreamError(
      'unavailable',
      status ? `the token endpoint answered ${status}` : 'unexpected token response',
    );
  }
}

// What oauth4webapi reports for an ID token that fails a check: a claim, a time, a key, the format.
const ID_TOKEN_CHECKS = new Set<string>([
  oauth.JWT_CLAIM_COMPARISON,
  oauth.JWT_TIMESTAMP_CHECK,
  oauth.KEY_SELECTION,
  oauth.INVALID_RESPONSE,
  oauth.PARSE_ERROR,
]);

/** A check of the ID token failed (not the exchange that fetched it or its keys). */
function isIdTokenCheck(err: unknown): err is oauth.OperationProcessingError {
  return (
    err instanceof oauth.OperationProcessingError &&
    ID_TOKEN_CHECKS.has(err.code ?? '') &&
    !(err.cause instanceof Response)
  );
}

/** Runs one exchange with the provider; whatever goes wrong becomes an UpstreamError naming the step. */
async function talking<T>(step: string, exchange: () => Promise<T>): Promise<T> {
  try {
    return await exchange();
  } catch (err) {
    throw reduced(step, err);
  }
}

/** A timeout, a connection that failed, or an answer of the wrong shape or status, as an UpstreamError. */
function reduced(step: string, err: unknown): UpstreamError {
  if (err instanceof UpstreamError) return err;
  if (isTimeout(err)) return new UpstreamError('timeout', `${step}: no answer within ${UPSTREAM_TIMEOUT_MS / 1000} s`);
  const status =
    err instanceof oauth.ResponseBodyError
      ? err.status
      : err instanceof oauth.OperationProcessingError && err.cause instanceof Response
        ? err.cause.status
        : undefined;
  if (status) return new UpstreamError('unavailable', `${step}: the provider answered ${status}`);
  // fetch failing (refused, reset, unknown host) is a TypeError without a code of its own.
  const unreachable = err instanceof TypeError && !(err as { code?: unknown }).code;
  const what = unreachable
    ? 'the provider could not be reached'
    : err instanceof Error
      ? err.message
      : 'unexpected answer';
  return new UpstreamError('unavailable', `${step}: ${what}`);
}

function identityOf(profile: Record<string, unknown>, claims: oauth.IDToken): UpstreamIdentity {
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [];
  return {
    subject: claims.sub,
    email: text(profile.email)?.toLowerCase() ?? null,
    emailVerified: profile.email_verified === true,
    name: text(profile.name),
    username: text(profile.preferred_username),
    amr,
    acr: typeof claims.acr === 'string' ? claims.acr : undefined,
  };
}
