import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { BenchError } from './errors.ts';

/**
 * A database of the benchmark's own on the given Postgres server, dropped afterwards with
 * `force`, which also ends connections a crashed run may have left open.
 */
export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `tessera_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(serverUrl);
  try {
    await onServer(serverUrl, `create database ${name}`);
  } catch (err) {
    // The URL may hold a password: name the server by host and port only.
    throw new BenchError(`cannot create a database on Postgres at ${url.host}: ${(err as Error).message}`);
  }
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => onServer(serverUrl, `drop database if exists ${name} with (force)`),
  };
}

async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
