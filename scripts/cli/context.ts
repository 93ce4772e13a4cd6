import type { Database, Db } from '../../db/database.ts';
import type { Audit } from '../../server/audit/audit.ts';
import type { Config } from '../../server/config.ts';
import type { Secrets } from '../../server/secrets.ts';

/** What a command gets: the database, the secrets, the audit trail, and its parsed arguments. */
export interface CommandContext {
  db: Db;
  config: Config;
  secrets: Secrets;
  audit: Audit;
  /** The server's ISSUER, for URLs a command prints (a connection's redirect_uri). */
  issuer: string;
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  readStdin: () => Promise<string>;
  /** The migrations applied before this command ran. */
  applied: string[];
  /** How the database is reached: through a running server's socket, it shares one session with the server. */
  databaseMode: Database['mode'];
}

export interface Command {
  usage: string;
  options?: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
  positionals?: number;
  run(ctx: CommandContext): Promise<unknown>;
}

/**
 * A command that opens what it needs itself, instead of the database opened and migrated for it:
 * `backup` must not change what it copies, and `restore` needs a DATA_DIR nothing has touched.
 */
export interface StandaloneCommand {
  usage: string;
  options?: Command['options'];
  positionals?: number;
  runAlone(ctx: { config: Config; values: CommandContext['values']; positionals: string[] }): Promise<unknown>;
}

export const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
export const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
