import * as oauth from 'oauth4webapi';
import { z } from 'zod';

/**
 * GitHub's OAuth web flow, spoken through oauth4webapi: the authorize URL (state and PKCE), the
 * code exchange, then GET /user and /user/emails. GitHub OAuth apps are not OpenID Connect, so
 * the person is who /user says, keyed by the numeric id. The access token only lives for these
 * two calls: it is never stored, returned or logged. Every way this can fail becomes a
 * GitHubError with a reason the pages turn into words and the audit log records.
 */
export interface GitHubSettings {
  clientId: string;
  clientSecret: string;
  baseUrl: string;
  apiUrl: string;
  /** The one callback URL registered with the GitHub OAuth app. */
  redirectUri: string;
}

export interface GitHubProfile {
  /** GitHub's numeric user id, as text: the identity's key. */
  id: string;
  login: string;
  name: string | null;
  /** The verified address to use: the primary one, else the first verified one. */
  email: string;
}

export type GitHubFailure =
  | 'access_denied'
  | 'authorization_error'
  | 'state_mismatch'
  | 'code_rejected'
  | 'unavailable'
  | 'timeout'
  | 'no_verified_email';

export class GitHubError extends Error {
  override name = 'GitHubError';
  readonly reason: GitHubFailure;
  constructor(reason: GitHubFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

export interface GitHub {
  authorizationUrl(state: string, codeVerifier: string): Promise<URL>;
  /** The person GitHub sent back with `callback`, for a flow started with this state and verifier. */
  profile(callback: URLSearchParams, state: string, codeVerifier: string): Promise<GitHubProfile>;
}

const GITHUB_SCOPE = 'read:user user:email';
/** GitHub answers in well under a second; a person should not wait longer than this for it. */
const TIMEOUT_MS = 5_000;

const userShape = z.object({ id: z.number().int().positive(), login: z.string().min(1), name: z.string().nullish() });
const emailsShape = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));
/** An address Tessera can hold; anything else GitHub lists is passed over like an unverified one. */
const usableAddress = z.email().max(254);

export function createGitHub(settings: GitHubSettings): GitHub {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const api = `${settings.apiUrl.replace(/\/+$/, '')}/`;
  const as: oauth.AuthorizationServer = {
    issuer: base,
    authorization_endpoint: `${base}/login/oauth/authorize`,
    token_endpoint: `${base}/login/oauth/access_token`,
  };
  const client: oauth.Client = { client_id: settings.clientId };
  const clientAuth = oauth.ClientSecretPost(settings.clientSecret);
  const options = {
    signal: () => AbortSignal.timeout(TIMEOUT_MS),
    // GitHub Enterprise on a private network may be plain http, when the settings say so.
    [oauth.allowInsecureRequests]: base.startsWith('http:') || api.startsWith('http:'),
  };

  async function getJson(accessToken: string, path: string): Promise<unknown> {
    const headers = new Headers({
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'Tessera',
    });
    const response = await oauth.protectedResourceRequest(
      accessToken,
      'GET',
      new URL(path, api),
      headers,
      null,
      options,
    );
    if (!response.ok) throw new GitHubError('unavailable', `GitHub answered ${response.status} to GET /${path}`);
    return response.json();
  }

  return {
    async authorizationUrl(state, codeVerifier) {
      const url = new URL(as.authorization_endpoint as string);
      url.search = new URLSearchParams({
        client_id: settings.clientId,
        redirect_uri: settings.redirectUri,
        scope: GITHUB_SCOPE,
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }).toString();
      return url;
    },

    async profile(callback, state, codeVerifier) {
      let params: URLSearchParams;
      try {
        params = oauth.validateAuthResponse(as, client, callback, state);
      } catch (err) {
        if (err instanceof oauth.AuthorizationResponseError) {
          const reason = err.error === 'access_denied' ? 'access_denied' : 'authorization_error';
          throw new GitHubError(reason, `GitHub answered ${err.error}`);
        }
        throw new GitHubError('state_mismatch', 'the callback does not match the sign-in that was started');
      }
      if (params.getAll('code').length !== 1 || !params.get('code')) {
        throw new GitHubError('authorization_error', 'the callback does not carry one code');
      }
      return talkingToGitHub(async () => {
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          client,
          clientAuth,
          params,
          settings.redirectUri,
          codeVerifier,
          options,
        );
        const { access_token } = await oauth.processAuthorizationCodeResponse(as, client, response);
        const [user, emails] = await Promise.all([getJson(access_token, 'user'), getJson(access_token, 'user/emails')]);
        const who = userShape.parse(user);
        const verified = emailsShape
          .parse(emails)
          .filter((e) => e.verified && usableAddress.safeParse(e.email).success);
        const email = (verified.find((e) => e.primary) ?? verified[0])?.email;
        if (!email) throw new GitHubError('no_verified_email', 'the GitHub account has no verified email address');
        return { id: String(who.id), login: who.login, name: who.name?.trim() || null, email };
      });
    },
  };
}

/**
 * Runs the calls to GitHub, turning whatever goes wrong into a GitHubError. The library's errors
 * carry GitHub's response bodies (which hold the token when one was issued), so they are reduced
 * to a reason here and never passed on whole.
 */
async function talkingToGitHub<T>(calls: () => Promise<T>): Promise<T> {
  try {
    return await calls();
  } catch (err) {
    if (err instanceof GitHubError) throw err;
    // A DOMException, which need not be an Error of this realm: tell it by name.
    if ((err as { name?: unknown } | null)?.name === 'TimeoutError') {
      throw new GitHubError('timeout', `GitHub did not answer within ${TIMEOUT_MS / 1000} s`);
    }
    // GitHub refuses a code with HTTP 200 and an error body, which the library finds has no token.
    const body = err instanceof oauth.OperationProcessingError ? (err.cause as { body?: unknown })?.body : undefined;
    const refusal = (body as { error?: unknown } | undefined)?.error;
    if (typeof refusal === 'string') throw new GitHubError('code_rejected', `GitHub refused the code: ${refusal}`);
    if (err instanceof z.ZodError) throw new GitHubError('unavailable', 'GitHub answered in an unexpected shape');
    const status =
      err instanceof oauth.ResponseBodyError
        ? err.status
        : err instanceof oauth.OperationProcessingError && err.cause instanceof Response
          ? err.cause.status
          : undefined;
    throw new GitHubError('unavailable', status ? `GitHub answered ${status}` : 'GitHub could not be reached');
  }
}
