import { spawnNode } from './node-process.ts';
import type { Target } from './target.ts';
import type { InProcessTessera } from './tessera.ts';

/**
 * Tessera with WORKERS=2 as `npm start` runs it, on the same database and SECRET_KEY as the
 * in-process one, so the same clients work against it. Silent like the in-process one, so the
 * two compare the server's work and not pino's; measured against the bare single process.
 */
export async function startWorkers(databaseUrl: string, tessera: InProcessTessera): Promise<Target> {
  const node = await spawnNode({
    DATABASE_URL: databaseUrl,
    SECRET_KEY: tessera.secretKey,
    WORKERS: '2',
    LOG_LEVEL: 'silent',
  });
  return {
    label: 'Tessera (Postgres, WORKERS=2)',
    origin: node.origin,
    inProcess: false,
    inPostgres: true,
    machine: tessera.machine,
    web: tessera.web,
    mintRefreshToken: () => Promise.reject(new Error('refresh tokens are minted on the in-process Tessera')),
    cpuMs: () => node.cpuMs(),
    close: () => node.close(),
  };
}
