import { spawnNode } from './node-process.ts';

/**
 * Idle memory: a node as `npm start` runs it, resident set size a few seconds after it says it
 * listens, having served nothing. On PostgreSQL one process (WORKERS=1), and embedded (PGlite
 * in the process, in a fresh data directory).
 */
export interface IdleMemory {
  postgresMb: number;
  embeddedMb: number;
}

const SETTLE_MS = 3_000;

export async function measureIdleMemory(databaseUrl: string, secretKey: string): Promise<IdleMemory> {
  const postgresMb = await idleMegabytes({ DATABASE_URL: databaseUrl, SECRET_KEY: secretKey, LOG_LEVEL: 'info' });
  const embeddedMb = await idleMegabytes({ LOG_LEVEL: 'info' });
  return { postgresMb, embeddedMb };
}

async function idleMegabytes(env: Record<string, string>): Promise<number> {
  const node = await spawnNode(env);
  try {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return (await node.residentBytes()) / 1024 / 1024;
  } finally {
    await node.close();
  }
}
