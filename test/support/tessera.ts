import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from './database.ts';

/**
 * A real Tessera server in a child process, as `npm start` runs it, on a free port, with its
 * own database. `restart()` keeps the database; `stop()` sends SIGTERM and waits for the exit.
 */
const ROOT = join(import.meta.dirname, '..', '..');

export interface RunningTessera {
  issuer: string;
  env: Record<string, string>;
  /** Everything the server wrote to stdout and stderr so far. */
  logs(): string;
  cli(args: string[], stdin?: string): Promise<CliResult>;
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** Ends the server with SIGKILL, as a crash or the OOM killer would, and waits for the exit. */
  kill(): Promise<void>;
  /** Stops the server and drops its database. */
  dispose(): Promise<void>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: <T = Record<string, unknown>>() => T;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export async function startTessera(
  extraEnv: Record<string, string> = {},
  database?: TestDatabase,
): Promise<RunningTessera> {
  const db = database ?? (await createTestDatabase());
  let issuer = '';
  let env: Record<string, string> = {};
  const onFreePort = async () => {
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    env = { ISSUER: issuer, PORT: String(port), LOG_LEVEL: 'info', ...db.env, ...extraEnv };
  };
  let output = '';
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn(process.execPath, [join(ROOT, 'server', 'main.ts')], {
      env: processEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started = child;
    const from = output.length;
    started.once('exit', (code, signal) => {
      output += `\n[tessera exited: code ${code}, signal ${signal}]\n`;
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Tessera did not start:\n${output}`)), 120_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.indexOf('Tessera is listening', from) !== -1) {
          clearTimeout(timer);
          resolve();
        }
      };
      started.stdout?.on('data', onData);
      started.stderr?.on('data', onData);
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Tessera exited with ${code}:\n${output}`));
      });
    });
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill(signal);
    await exited;
  };

  // A free port can be taken by another process before Tessera listens on it: then take another.
  for (let attempt = 1; ; attempt++) {
    await onFreePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt === 3 || !String(err).includes('EADDRINUSE')) throw err;
    }
  }
  return {
    issuer,
    env,
    logs: () => output,
    cli: (args, stdin) => runCli(env, args, stdin),
    restart: async () => {
      await stop();
      await start();
    },
    stop: () => stop(),
    kill: () => stop('SIGKILL'),
    dispose: async () => {
      await stop();
      if (!database) await db.drop();
    },
  };
}

/** A spawned server's or command's whole environment: `env` and little else, as on a clean host. */
const processEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH, HOME: process.env.HOME, ...env });

export function runCli(env: Record<string, string>, args: string[], stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'tessera.ts'), ...args], {
      env: processEnv(env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      resolve({
        code,
        stdout,
        stderr,
        json: <T>() => {
          if (code !== 0) throw new Error(`tessera ${args.join(' ')} failed (${code}): ${stderr}`);
          return JSON.parse(stdout) as T;
        },
      }),
    );
    child.stdin.end(stdin ?? '');
  });
}

/** Polls `check` until it stops throwing, for changes other nodes pick up within a second or two. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export interface AuditLine {
  type: string;
  userId?: string;
  ip?: string;
  details?: Record<string, unknown>;
}

/** The audit events a Tessera server wrote to its log so far. */
export function auditEvents(logs: string): AuditLine[] {
  return logs
    .split('\n')
    .filter((line) => line.includes('"audit"'))
    .map((line) => JSON.parse(line).audit as AuditLine);
}
