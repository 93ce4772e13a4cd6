import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnNode } from './node-process.ts';

/**
 * Idle memory: a node as `npm start` runs it, resident set size a few seconds after it says it
 * listens, having served nothing. On PostgreSQL one process (WORKERS=1), and embedded (PGlite in
 * the process) restarted on a data directory its first start made: a first start also runs
 * PostgreSQL's initdb, whose memory the process keeps, once in the life of a deployment.
 */
export interface IdleMemory {
  postgresMb: number;
  embeddedMb: number;
}

const SETTLE_MS = 3_000;

export async function measureIdleMemory(databaseUrl: string, secretKey: string): Promise<IdleMemory> {
  const postgresMb = await idleMegabytes({ DATABASE_URL: databaseUrl, SECRET_KEY: secretKey, LOG_LEVEL: 'info' });
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-bench-embedded-'));
  try {
    await (await spawnNode({ LOG_LEVEL: 'info', DATA_DIR: dataDir })).close();
    const embeddedMb = await idleMegabytes({ LOG_LEVEL: 'info', DATA_DIR: dataDir });
    return { postgresMb, embeddedMb };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
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
