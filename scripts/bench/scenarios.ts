import type { LoadPlan } from './requests.ts';
import { type ClientCredentials, FIXTURE, type Target } from './target.ts';

/**
 * The two grants the issue names, as a client sends them: client_secret_basic, a form body, one
 * POST to /token. `plan` does on the main thread what needs the server's objects (minting one
 * refresh token per connection); the load worker does the rest.
 */
export interface Scenario {
  readonly name: string;
  plan(target: Target, concurrency: number): Promise<LoadPlan>;
}

export const SCENARIOS: Scenario[] = [
  {
    // A machine client asking for a JWT access token for the registered API.
    name: 'client_credentials',
    async plan(target) {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        resource: FIXTURE.audience,
        scope: FIXTURE.apiScope,
      }).toString();
      return { ...endpoint(target, target.machine), grant: 'client_credentials', body };
    },
  },
  {
    // A web client refreshing a signed-in user's tokens (an ID token and a JWT for the API).
    name: 'refresh_token',
    async plan(target, concurrency) {
      const refreshTokens = await Promise.all(Array.from({ length: concurrency }, () => target.mintRefreshToken()));
      return { ...endpoint(target, target.web), grant: 'refresh_token', refreshTokens };
    },
  },
];

function endpoint(target: Target, client: ClientCredentials) {
  return { label: target.label, tokenUrl: `${target.origin}/token`, authorization: basic(client) };
}

// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
function basic(client: ClientCredentials): string {
  const pair = `${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}
