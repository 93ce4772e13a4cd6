import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateRandomCodeVerifier, generateRandomState } from 'oauth4webapi';
import { createGitHub, type GitHub, GitHubError } from '../../server/federation/github.ts';
import { type FakeGitHub, type GitHubUser, OCTOCAT, startFakeGitHub } from '../fixtures/fake-github.ts';

/**
 * The GitHub client on its own against the fake GitHub (test/fixtures): the authorize URL it
 * builds, the profile it makes of /user and /user/emails, and the GitHubError reason a caller
 * gets for each way the web flow can go wrong. The test plays the browser with fetch.
 */
const REDIRECT_URI = 'http://localhost:3000/github/callback';

let github: FakeGitHub;
let client: GitHub;

beforeAll(async () => {
  github = await startFakeGitHub();
  client = clientWith({});
});

afterEach(() => github.reset());

afterAll(() => github.close());

function clientWith(overrides: { clientSecret?: string; apiUrl?: string }): GitHub {
  return createGitHub({
    clientId: github.clientId,
    clientSecret: github.clientSecret,
    baseUrl: github.baseUrl,
    apiUrl: github.apiUrl,
    redirectUri: REDIRECT_URI,
    ...overrides,
  });
}

interface Flow {
  state: string;
  verifier: string;
  callback: URLSearchParams;
}

/** Signs `user` in at GitHub, opens the client's authorize URL and decides, like a browser would. */
async function throughGitHub(
  user: GitHubUser,
  decision: 'allow' | 'deny' = 'allow',
  through: GitHub = client,
): Promise<Flow> {
  github.signIn(user);
  const state = generateRandomState();
  const verifier = generateRandomCodeVerifier();
  const url = await through.authorizationUrl(state, verifier);
  const page = await fetch(url, { redirect: 'manual' });
  expect(page.status).toBe(200);
  await page.text();
  const form = new URLSearchParams(url.searchParams);
  form.set('decision', decision);
  const answer = await fetch(`${github.baseUrl}/login/oauth/authorize`, {
    method: 'POST',
    body: form,
    redirect: 'manual',
  });
  expect(answer.status).toBe(302);
  const location = new URL(answer.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
  return { state, verifier, callback: location.searchParams };
}

/** The GitHubError a call ends in; fails the test if it gives a profile or throws anything else. */
async function failure(call: Promise<unknown>): Promise<GitHubError> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(GitHubError);
    return err as GitHubError;
  }
  throw new Error('expected a GitHubError, got a profile');
}

describe('GitHub client', () => {
  it('sends the person to GitHub with its client id, callback, scopes, state and an S256 challenge', async () => {
    const state = generateRandomState();
    const verifier = generateRandomCodeVerifier();
    const url = await client.authorizationUrl(state, verifier);

    expect(`${url.origin}${url.pathname}`).toBe(`${github.baseUrl}/login/oauth/authorize`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      client_id: github.clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'read:user user:email',
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    });
  });

  it('returns the GitHub id, login, name and primary verified email, having sent the code verifier', async () => {
    const { state, verifier, callback } = await throughGitHub(OCTOCAT);

    expect(await client.profile(callback, state, verifier)).toEqual({
      id: '583231',
      login: 'octocat',
      name: 'The Octocat',
      email: 'octocat@example.test',
    });
    const token = github.tokenRequests.at(-1);
    expect(token?.body.get('code')).toBe(callback.get('code'));
    expect(token?.body.get('code_verifier')).toBe(verifier);
    expect(token?.body.get('redirect_uri')).toBe(REDIRECT_URI);
  });

  it.each([
    [
      'the first verified email when the primary one is unverified',
      [
        { email: 'old@example.test', primary: true, verified: false },
        { email: 'unchecked@example.test', primary: false, verified: false },
        { email: 'checked@example.test', primary: false, verified: true },
      ],
      'Mona Lisa',
      { email: 'checked@example.test', name: 'Mona Lisa' },
    ],
    [
      'no name when GitHub has none',
      [{ email: 'mona@example.test', primary: true, verified: true }],
      null,
      { email: 'mona@example.test', name: null },
    ],
    [
      'no name when GitHub has only whitespace',
      [{ email: 'mona@example.test', primary: true, verified: true }],
      '   ',
      { email: 'mona@example.test', name: null },
    ],
  ])('gives %s', async (_label, emails, name, expected) => {
    const { state, verifier, callback } = await throughGitHub({ id: 1001, login: 'mona', name, emails });

    expect(await client.profile(callback, state, verifier)).toEqual({ id: '1001', login: 'mona', ...expected });
  });

  it.each([
    ['only unverified emails', [{ email: 'nope@example.test', primary: true, verified: false }]],
    ['no emails at all', []],
    ['a verified entry that is no email address', [{ email: 'not an address', primary: true, verified: true }]],
  ])('refuses an account with %s as no_verified_email', async (_label, emails) => {
    const { state, verifier, callback } = await throughGitHub({ id: 1002, login: 'unverified', name: null, emails });

    expect((await failure(client.profile(callback, state, verifier))).reason).toBe('no_verified_email');
  });

  it('refuses a callback whose state is not the expected one, before asking for a token', async () => {
    const { verifier, callback } = await throughGitHub(OCTOCAT);
    const tokenRequests = github.tokenRequests.length;

    const error = await failure(client.profile(callback, generateRandomState(), verifier));
    expect(error.reason).toBe('state_mismatch');
    expect(github.tokenRequests.length).toBe(tokenRequests);
  });

  it.each([
    ['no code', (p: URLSearchParams) => p.delete('code')],
    ['two codes', (p: URLSearchParams) => p.append('code', 'another')],
  ])('reports authorization_error for a callback with %s, before asking for a token', async (_label, alter) => {
    const { state, verifier, callback } = await throughGitHub(OCTOCAT);
    alter(callback);
    const tokenRequests = github.tokenRequests.length;

    expect((await failure(client.profile(callback, state, verifier))).reason).toBe('authorization_error');
    expect(github.tokenRequests.length).toBe(tokenRequests);
  });

  it('reports access_denied when the person cancels at GitHub', async () => {
    const { state, verifier, callback } = await throughGitHub(OCTOCAT, 'deny');
    expect(callback.get('error')).toBe('access_denied');

    expect((await failure(client.profile(callback, state, verifier))).reason).toBe('access_denied');
  });

  it('reports code_rejected when the same code comes back a second time', async () => {
    const { state, verifier, callback } = await throughGitHub(OCTOCAT);
    await client.profile(callback, state, verifier);

    expect((await failure(client.profile(callback, state, verifier))).reason).toBe('code_rejected');
  });

  it('reports code_rejected when the client secret is wrong', async () => {
    const wrongSecret = clientWith({ clientSecret: 'not-the-secret' });
    const { state, verifier, callback } = await throughGitHub(OCTOCAT, 'allow', wrongSecret);

    expect((await failure(wrongSecret.profile(callback, state, verifier))).reason).toBe('code_rejected');
  });

  it('reports code_rejected when the code verifier is not the one the challenge was made from', async () => {
    const { state, callback } = await throughGitHub(OCTOCAT);

    const error = await failure(client.profile(callback, state, generateRandomCodeVerifier()));
    expect(error.reason).toBe('code_rejected');
  });

  it.each([
    ['token', 503, 'unavailable'],
    ['emails', 500, 'unavailable'],
    ['user', 'hang', 'timeout'],
  ] as const)(
    'reports GitHub’s %s endpoint answering %s as %s',
    async (endpoint, how, reason) => {
      const { state, verifier, callback } = await throughGitHub(OCTOCAT);
      github.misbehave(endpoint, how);

      expect((await failure(client.profile(callback, state, verifier))).reason).toBe(reason);
    },
    15_000,
  );

  it.each([
    ['emails', 500],
    ['user', 'hang'],
  ] as const)(
    'keeps the access token out of the error when the %s endpoint fails (%s) after one was issued',
    async (endpoint, how) => {
      const { state, verifier, callback } = await throughGitHub(OCTOCAT);
      github.misbehave(endpoint, how);

      const error = await failure(client.profile(callback, state, verifier));
      expect(error.message).not.toContain('gho_');
      expect(inspect(error)).not.toContain('gho_');
    },
    15_000,
  );

  it('reads the API the same when its URL ends in a slash', async () => {
    const slashed = clientWith({ apiUrl: `${github.apiUrl}/` });
    const { state, verifier, callback } = await throughGitHub(OCTOCAT, 'allow', slashed);

    expect(await slashed.profile(callback, state, verifier)).toEqual({
      id: '583231',
      login: 'octocat',
      name: 'The Octocat',
      email: 'octocat@example.test',
    });
  });
});
