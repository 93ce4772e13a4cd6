import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import { refreshTokenGrant } from 'openid-client';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { openLoginForm, relyingPartyOn, signInWithForms } from '../support/form-client.ts';
import { newAddress } from '../support/form-posts.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * A Tessera process killed (SIGKILL: no shutdown, connections cut) while people sign in and apps
 * refresh their tokens. On PostgreSQL a second node carries on alone: the refresh chains the dead
 * node started continue there, and sign-ins it had begun finish there. On the embedded database
 * the server restarted on its DATA_DIR does the same.
 */
const shared = Boolean(process.env.DATABASE_URL);
const REDIRECT = 'http://127.0.0.1:9/callback';
const PASSWORD = 'a long enough passphrase for crashes';
const PERSON = { redirectUri: REDIRECT, login: 'grace@example.com', password: PASSWORD };
// One person signing in on many devices at once, each from its own address: the login limits
// allow 5 attempts in flight per account and address, and this test is about nodes, not limits.
const onADevice = () => ({ ...PERSON, address: newAddress() });
const PROXIED = { TRUST_PROXY: 'true' };
const CHAINS_PER_NODE = 6;
const SIGN_INS_DURING_KILL = 8;
const JWKS_DURING_KILL = 40;
// Two nodes and a few dozen sign-ins (each an argon2 hash) on a machine that may be busy.
const SLOW = 180_000;

let database: TestDatabase;
let doomed: RunningTessera;
let survivor: RunningTessera;
let spaId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  doomed = await startTessera(PROXIED, database);
  // On PostgreSQL, a second node behind the same issuer, as behind a load balancer.
  survivor = shared ? await startTessera({ ...PROXIED, ISSUER: doomed.issuer }, database) : doomed;
  (await doomed.cli(['users', 'create', '--email', PERSON.login, '--password-stdin'], PASSWORD)).json();
  spaId = (await doomed.cli(['clients', 'create', '--name', 'App', '--type', 'spa', '--redirect-uri', REDIRECT])).json<{
    client_id: string;
  }>().client_id;
});

afterAll(async () => {
  await doomed?.stop();
  if (survivor !== doomed) await survivor?.stop();
  await database?.drop();
});

const nodeOf = (tessera: RunningTessera) => `http://localhost:${tessera.env.PORT}`;

/** A chain of rotating refresh tokens: each refresh answers the next token and ends the last. */
async function refreshOn(config: oidc.Configuration, chain: { token: string }) {
  const answer = await refreshTokenGrant(config, chain.token);
  chain.token = answer.refresh_token ?? '';
  return answer;
}

describe(shared ? 'one of two nodes killed' : 'the embedded server killed and restarted', () => {
  it(
    'loses nothing: refresh chains and begun sign-ins of the killed node continue',
    async () => {
      const issuer = doomed.issuer;
      const onDoomed = await relyingPartyOn(issuer, spaId, nodeOf(doomed));
      const onSurvivor = await relyingPartyOn(issuer, spaId, nodeOf(survivor));
      const chainsFrom = async (config: oidc.Configuration, node: string) =>
        Promise.all(
          Array.from({ length: CHAINS_PER_NODE }, async () => ({
            token: (await signInWithForms(config, node, onADevice())).refresh_token ?? '',
          })),
        );
      const doomedChains = await chainsFrom(onDoomed, nodeOf(doomed));
      const survivorChains = shared ? await chainsFrom(onSurvivor, nodeOf(survivor)) : [];
      await Promise.all(doomedChains.map((chain) => refreshOn(onDoomed, chain)));
      // Sign-ins the doomed node has begun: the login form is on the screen, not yet sent.
      const begun = await Promise.all(
        Array.from({ length: SIGN_INS_DURING_KILL }, () => openLoginForm(onDoomed, nodeOf(doomed), onADevice())),
      );

      // The kill lands among sign-ins starting on the doomed node and refreshes on the survivor.
      // A start the kill cuts off leaves nothing but an error the person sees.
      const starting = Array.from({ length: SIGN_INS_DURING_KILL }, () =>
        openLoginForm(onDoomed, nodeOf(doomed), onADevice()).then(
          (pending) => pending,
          () => undefined,
        ),
      );
      // Meanwhile the survivor refreshes, signs people in and serves its keys, none of which may fail.
      const atSurvivor = shared
        ? [
            ...survivorChains.map((chain) => refreshOn(onSurvivor, chain)),
            ...Array.from({ length: SIGN_INS_DURING_KILL }, () =>
              signInWithForms(onSurvivor, nodeOf(survivor), onADevice()),
            ),
            ...Array.from({ length: JWKS_DURING_KILL }, async () => {
              const res = await fetch(new URL('/jwks', nodeOf(survivor)));
              if (res.status !== 200) throw new Error(`/jwks answered ${res.status}`);
            }),
          ]
        : [];
      const [, startedOnDoomed, survivorAnswers] = await Promise.all([
        // Killed as soon as the first of those has its form, the rest still under way.
        Promise.race(starting).then(() => doomed.kill()),
        Promise.all(starting),
        Promise.allSettled(atSurvivor),
      ]);
      expect(survivorAnswers.filter((a) => a.status === 'rejected')).toEqual([]);
      if (!shared) await survivor.restart();

      // Every chain the dead node started goes on at the survivor, twice over.
      for (let round = 0; round < 2; round++) {
        const answers = await Promise.all([...doomedChains, ...survivorChains].map((c) => refreshOn(onSurvivor, c)));
        expect(answers.every((a) => typeof a.access_token === 'string')).toBe(true);
      }
      // A sign-in begun on the dead node finishes on the survivor; one cut off is started again there.
      const finished = await Promise.all([
        ...begun.map((pending) => pending.finish(onSurvivor, nodeOf(survivor))),
        ...startedOnDoomed.map((pending) =>
          pending
            ? pending.finish(onSurvivor, nodeOf(survivor))
            : signInWithForms(onSurvivor, nodeOf(survivor), onADevice()),
        ),
      ]);
      expect(finished).toHaveLength(2 * SIGN_INS_DURING_KILL);
      for (const tokens of finished) {
        expect(tokens.claims()).toMatchObject({ email: PERSON.login });
        expect((await refreshOn(onSurvivor, { token: tokens.refresh_token ?? '' })).access_token).toBeTruthy();
      }
      expect((await fetch(new URL('/readyz', nodeOf(survivor)))).status).toBe(200);
    },
    SLOW,
  );
});
