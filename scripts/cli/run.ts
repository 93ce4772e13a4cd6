import { parseArgs } from 'node:util';
import { openDatabase } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrator.ts';
import { createAudit } from '../../server/audit/audit.ts';
import { ConfigError, loadConfig } from '../../server/config.ts';
import { AppError } from '../../server/errors.ts';
import { createLogger } from '../../server/logger.ts';
import { createSecrets, resolveSecretKey } from '../../server/secrets.ts';
import { commands } from './commands.ts';

/**
 * The operator's command line, which scripts/tessera.ts starts. Results are JSON on stdout;
 * errors one line on stderr, exit 1 when the operation failed and 2 when the command itself was
 * wrong. Works on the embedded database (through the running server's socket when it runs) and
 * on DATABASE_URL alike.
 */
class UsageError extends Error {}

const HELP = new Set(['--help', '-h', 'help']);

/** The usage of every command, or of those the words before --help name (`clients --help`). */
function usage(words: string[] = []): string {
  const named = Object.entries(commands).filter(([name]) => `${name} `.startsWith(`${words.join(' ')} `.trimStart()));
  const shown = named.length ? named : Object.entries(commands);
  return ['usage:', ...shown.map(([, c]) => `  ${c.usage}`)].join('\n');
}

function findCommand(argv: string[]) {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = commands[name];
    if (command) return { name, command, rest: argv.slice(words) };
  }
  throw new UsageError(argv.length ? `unknown command: ${argv.slice(0, 2).join(' ')}` : 'no command given');
}

function parse(command: (typeof commands)[string], rest: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: command.options ?? {},
      allowPositionals: command.positionals !== undefined,
      strict: true,
    });
    const wanted = command.positionals ?? 0;
    if (wanted > 0 && positionals.length !== wanted) throw new Error(`expected ${wanted} argument(s)`);
    if (wanted < 0 && positionals.length < 1) throw new Error('expected at least one argument');
    return { values, positionals };
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${command.usage}`);
  }
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new AppError('invalid_input', 'nothing on standard input: pipe the password in');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(argv: string[]): Promise<number> {
  const help = argv.findIndex((arg) => HELP.has(arg));
  if (help >= 0) {
    console.log(usage(argv.slice(0, help)));
    return 0;
  }
  const { command, rest } = findCommand(argv);
  const { values, positionals } = parse(command, rest);
  const config = loadConfig();
  if ('runAlone' in command) {
    console.log(JSON.stringify(await command.runAlone({ config, values, positionals }), null, 2));
    return 0;
  }
  const secrets = createSecrets(await resolveSecretKey(config));
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, role: 'cli' });
  try {
    const applied = await migrateToLatest(database.db);
    const logger = createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn', 2);
    const result = await command.run({
      db: database.db,
      config,
      secrets,
      audit: createAudit(database.db, logger),
      issuer: config.issuer,
      values,
      positionals,
      readStdin,
      applied,
      databaseMode: database.mode,
    });
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    if (err instanceof UsageError) {
      console.error(`tessera: ${err.message}`);
      if (err.message.startsWith('no command') || err.message.startsWith('unknown command')) console.error(usage());
      process.exitCode = 2;
    } else {
      const known = err instanceof AppError || err instanceof ConfigError;
      // Some libraries reject with plain objects; their message is still worth showing.
      const message = (err as { message?: unknown } | undefined)?.message;
      console.error(
        `tessera: ${known ? err.message : `failed: ${typeof message === 'string' ? message : String(err)}`}`,
      );
      process.exitCode = 1;
    }
  },
);
