import type { LoadPlan } from './requests.ts';
import { type ClientCredentials, FIXTURE, type Target } from './target.ts';

/**
 * What `npm run bench` measures, as a client sends it: client_secret_basic, form bodies, real
 * pages for the sign-in. `plan` does on the main thread what needs the server's objects (minting
 * one refresh token per connection); the load worker does the rest. Each scenario names the
 * Tessera it measures (the one in this process, or WORKERS=2 as processes of their own), whether
 * bare oidc-provider answers the same requests beside it, and the goal it is held to.
 */
export type Subject = 'tessera' | 'workers';

export interface Goal {
  /** Tessera's throughput as a share of bare oidc-provider's in the same round. */
  ratio?: number;
  /** Tessera's throughput in complete operations per second, when there is no bare counterpart. */
  perSecond?: number;
  /** Tessera's 99th percentile latency, in milliseconds. */
  p99Ms?: number;
  /** The 99th percentile delay of Tessera's event loop while it runs, in milliseconds. */
  loopDelayP99Ms?: number;
}

export interface Scenario {
  readonly name: string;
  /** What `--scenario` picks it by. */
  readonly key: string;
  readonly subject: Subject;
  readonly withBaseline: boolean;
  readonly goal: Goal;
  plan(target: Target, concurrency: number): Promise<LoadPlan>;
}

const clientCredentials = async (target: Target): Promise<LoadPlan> => {
  // A machine client asking for a JWT access token for the registered API.
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    resource: FIXTURE.audience,
    scope: FIXTURE.apiScope,
  }).toString();
  return { ...endpoint(target, target.machine), grant: 'client_credentials', body };
};

const mintTokens = (target: Target, concurrency: number) =>
  Promise.all(Array.from({ length: concurrency }, () => target.mintRefreshToken()));

export const SCENARIOS: Scenario[] = [
  {
    name: 'client_credentials',
    key: 'client_credentials',
    subject: 'tessera',
    withBaseline: true,
    goal: { ratio: 0.9 },
    plan: clientCredentials,
  },
  {
    // A web client refreshing a signed-in user's tokens (an ID token and a JWT for the API).
    name: 'refresh_token',
    key: 'refresh',
    subject: 'tessera',
    withBaseline: true,
    goal: { ratio: 0.6, p99Ms: 40 },
    async plan(target, concurrency) {
      return {
        ...endpoint(target, target.web),
        grant: 'refresh_token',
        refreshTokens: await mintTokens(target, concurrency),
      };
    },
  },
  {
    // A web client asking whether a refresh token is live (opaque tokens are what is looked up).
    name: 'introspection',
    key: 'introspection',
    subject: 'tessera',
    withBaseline: true,
    goal: { ratio: 0.85 },
    async plan(target, concurrency) {
      return { ...endpoint(target, target.web), grant: 'introspection', tokens: await mintTokens(target, concurrency) };
    },
  },
  {
    // People signing in through the pages with argon2id-checked passwords; bare oidc-provider has no such pages.
    name: 'password_login',
    key: 'login',
    subject: 'tessera',
    withBaseline: false,
    goal: { perSecond: 40, loopDelayP99Ms: 20 },
    async plan(target, concurrency) {
      const people = target.people ?? [];
      if (people.length < concurrency)
        throw new Error(`${target.label} has ${people.length} people for ${concurrency} connections`);
      return {
        ...endpoint(target, target.web),
        grant: 'password_login',
        clientId: target.web.id,
        redirectUri: FIXTURE.webRedirectUri,
        people: people.slice(0, concurrency),
      };
    },
  },
  {
    // Every core: two worker processes against the bare library's one.
    name: 'client_credentials, WORKERS=2',
    key: 'workers',
    subject: 'workers',
    withBaseline: true,
    goal: { ratio: 1.5 },
    plan: clientCredentials,
  },
];

function endpoint(target: Target, client: ClientCredentials) {
  return { label: target.label, origin: target.origin, authorization: basic(client) };
}

// RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
function basic(client: ClientCredentials): string {
  const pair = `${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}
