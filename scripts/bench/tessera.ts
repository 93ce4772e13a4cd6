import type { Db } from '../../db/database.ts';
import { createUser } from '../../server/accounts/users.ts';
import { createApi } from '../../server/apis/apis.ts';
import { createApp } from '../../server/app.ts';
import { createClient } from '../../server/clients/clients.ts';
import { loadConfig } from '../../server/config.ts';
import { createDeps, type Deps } from '../../server/deps.ts';
import { createLogger } from '../../server/logger.ts';
import { createRole } from '../../server/roles/roles.ts';
import { randomToken } from '../../server/secrets.ts';
import { listenOnLoopback } from './listener.ts';
import { FIXTURE, mintRefreshToken, type Target } from './target.ts';

/**
 * Tessera as server/serve.ts builds it (config → deps → app → listen) on the given Postgres
 * database, in this process. Logging is silent: the bench measures the server, not pino.
 * `people`: that many users who sign in with a password through the pages.
 */
export interface InProcessTessera extends Target {
  readonly secretKey: string;
  readonly db: Db;
}

export async function startTessera(databaseUrl: string, people: number): Promise<InProcessTessera> {
  const listener = await listenOnLoopback();
  let deps: Deps | undefined;
  // As main.ts stops: no more requests first, then the pool and timers.
  const close = async () => {
    try {
      await listener.close();
    } finally {
      await deps?.close();
    }
  };
  try {
    const secretKey = randomToken(36);
    const config = loadConfig({
      ISSUER: listener.origin,
      PORT: String(listener.port),
      DATABASE_URL: databaseUrl,
      SECRET_KEY: secretKey,
      LOG_LEVEL: 'silent',
    });
    const running = await createDeps(config, createLogger(config.logLevel));
    deps = running;
    const { machine, web, accountId } = await createFixture(running);
    const signInWith = await createPeople(running, people);
    listener.serve(createApp(running).callback());
    return {
      label: 'Tessera (Postgres)',
      origin: listener.origin,
      secretKey,
      db: running.db,
      inProcess: true,
      inPostgres: true,
      machine,
      web,
      people: signInWith,
      // Read at each call: the host swaps its provider when the signing keys change.
      mintRefreshToken: () => mintRefreshToken(running.oidc.provider, web.id, accountId),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The fixture through Tessera's own services, as an operator's CLI commands would make it. */
async function createFixture({ db, secrets }: Deps) {
  await createRole(db, { name: FIXTURE.machineRole });
  await createRole(db, { name: FIXTURE.userRole });
  await createApi(db, { audience: FIXTURE.audience, scopes: [FIXTURE.apiScope] });
  const machine = await createClient(db, secrets, {
    name: 'Bench machine',
    type: 'machine',
    scopes: [FIXTURE.apiScope],
    roles: [FIXTURE.machineRole],
  });
  const web = await createClient(db, secrets, {
    name: 'Bench web',
    type: 'web',
    redirect_uris: [FIXTURE.webRedirectUri],
    apis: [FIXTURE.audience],
  });
  const user = await createUser(db, {
    email: FIXTURE.userEmail,
    name: 'Bench User',
    password: randomToken(16),
    roles: [FIXTURE.userRole],
  });
  return {
    machine: credentialsOf(machine),
    web: credentialsOf(web),
    accountId: user.id,
  };
}

/** People with passwords (argon2id, as every user's), made in parallel as the hashing allows. */
async function createPeople({ db }: Deps, count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const person = { login: `bench.person${i}@example.com`, password: `${randomToken(12)} bench passphrase ${i}` };
      await createUser(db, { email: person.login, name: `Bench Person ${i}`, password: person.password });
      return person;
    }),
  );
}

function credentialsOf(client: { client_id: string; client_secret?: string }) {
  if (!client.client_secret) throw new Error(`client ${client.client_id} has no secret`);
  return { id: client.client_id, secret: client.client_secret };
}
