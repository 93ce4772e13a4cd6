/**
 * What every upstream connection type (OpenID Connect, GitHub) offers a sign-in: the URL to send
 * the browser to, and the person it sent back. A flow's state, PKCE verifier and nonce are made
 * by the caller and kept in the browser (upstream-flow.ts); the upstream's tokens live only for
 * the calls that read the person and are never stored, returned or logged.
 */
export interface UpstreamFlow {
  state: string;
  codeVerifier: string;
  nonce: string;
}

/** The person an upstream vouches for, keyed by (connection, subject). */
export interface UpstreamIdentity {
  /** The upstream's stable id for the person: `sub`, or GitHub's numeric id. */
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** `preferred_username`, or the GitHub login: a suggestion for the username, and what /account shows. */
  username: string | null;
  /** What the upstream says it checked (ID token `amr`, `acr`); empty for GitHub. */
  amr: string[];
  acr: string | undefined;
}

export interface Upstream {
  authorizationUrl(flow: UpstreamFlow): Promise<URL>;
  /** The person the upstream sent back with `callback`; throws UpstreamError for every way it went wrong. */
  identity(callback: URLSearchParams, flow: UpstreamFlow): Promise<UpstreamIdentity>;
}

export type UpstreamFailure =
  | 'access_denied'
  | 'authorization_error'
  | 'state_mismatch'
  | 'code_rejected'
  | 'id_token_invalid'
  | 'unavailable'
  | 'timeout'
  | 'no_verified_email';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly reason: UpstreamFailure;
  constructor(reason: UpstreamFailure, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** How long a person waits for one request to an upstream before the sign-in says it is not answering. */
export const UPSTREAM_TIMEOUT_MS = 5_000;

/** A DOMException need not be an Error of this realm: tell a timeout by name. */
export const isTimeout = (err: unknown) => (err as { name?: unknown } | null)?.name === 'TimeoutError';
