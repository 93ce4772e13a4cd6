#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBenchDatabase } from './postgres.ts';

/**
 * Times `tessera users import` on a generated JSON lines file of USERS people (default 100,000):
 * every one with a PBKDF2 hash of their own, a name, a username, one to three of five roles, and
 * one in ten a TOTP secret. Runs the import twice in a database of its own on the Postgres server
 * at DATABASE_URL (dropped afterwards): the first run creates everyone, the second finds them
 * all unchanged. Prints the seconds each took, as JSON.
 *
 *     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres node scripts/bench/import-users.ts 100000
 */
const ROOT = join(import.meta.dirname, '..', '..');
const ROLES = ['staff', 'billing', 'support', 'editor', 'viewer'];

async function writeUsers(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  const b64 = (bytes: number) => randomBytes(bytes).toString('base64').replace(/=+$/, '').replaceAll('+', '.');
  for (let i = 0; i < count; i++) {
    const user = {
      email: `person${i}@bench.test`,
      email_verified: i % 4 !== 0,
      username: `person${i}`,
      name: `Person ${i}`,
      roles: ROLES.slice(i % 5, (i % 5) + 1 + (i % 3)),
      password_hash: `$pbkdf2-sha256$27500$${b64(16)}$${b64(32)}`,
      ...(i % 10 === 0
        ? {
            totp_secret: randomBytes(20)
              .toString('hex')
              .slice(0, 32)
              .toUpperCase()
              .replace(/[0189]/g, 'A'),
          }
        : {}),
    };
    if (!out.write(`${JSON.stringify(user)}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function timeImport(file: string, env: Record<string, string>): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [join(ROOT, 'scripts', 'tessera.ts'), 'users', 'import', file], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0
        ? resolve(Number(process.hrtime.bigint() - started) / 1e9)
        : reject(new Error(`tessera users import exited with ${code}`)),
    ),
  );
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL;
  if (!server) throw new Error('set DATABASE_URL to a Postgres server (a database of its own is made there)');
  const count = Number(process.argv[2] ?? 100_000);
  if (!Number.isInteger(count) || count < 1) throw new Error('USERS must be a positive whole number');
  const dir = await mkdtemp(join(tmpdir(), 'tessera-import-bench-'));
  const database = await createBenchDatabase(server);
  try {
    const file = join(dir, 'users.jsonl');
    await writeUsers(file, count);
    const env = { DATABASE_URL: database.url, DATA_DIR: dir, SECRET_KEY: randomBytes(24).toString('hex') };
    const first = await timeImport(file, env);
    const second = await timeImport(file, env);
    console.log(JSON.stringify({ users: count, first_run_seconds: first, second_run_seconds: second }, null, 2));
  } finally {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`import bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
