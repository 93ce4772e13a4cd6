import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

/**
 * Configuration is read here and nowhere else: validated once, then frozen. A bad value stops the
 * start with one line that names the variable.
 */
const url = (protocols: string[]) =>
  z.url({ protocol: new RegExp(`^(${protocols.join('|')})$`), error: `must be a URL (${protocols.join(' or ')})` });

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const WORKERS_RULE = 'must be a number of processes (1 to 256) or auto';

const environment = z.object({
  ISSUER: url(['http', 'https'])
    .default('http://localhost:3000')
    .refine((v) => {
      const url = URL.parse(v);
      return !url || (url.pathname === '/' && !url.search);
    }, 'must be an origin without a path')
    .transform((v) => new URL(v).origin),
  PORT: z.coerce.number({ error: 'must be a port number' }).int().min(0).max(65535).default(3000),
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  DATA_DIR: z
    .string()
    .min(1)
    .default('./data')
    .transform((v) => resolve(v)),
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  SMTP_URL: url(['smtp', 'smtps']).optional(),
  MAIL_FROM: z.string().min(3).default('Tessera <no-reply@localhost>'),
  MAIL_TO_LOG: boolean.optional(),
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  GITHUB_BASE_URL: url(['http', 'https']).default('https://github.com'),
  GITHUB_API_URL: url(['http', 'https']).default('https://api.github.com'),
  TRUST_PROXY: boolean.default(false),
  KEY_PUBLISH_DELAY: z.coerce
    .number({ error: 'must be a number of seconds' })
    .int()
    .min(0)
    .max(7 * 86400)
    .default(600),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DYNAMIC_REGISTRATION: boolean.default(false),
  WORKERS: z
    .string()
    .regex(/^(auto|[1-9][0-9]{0,2})$/, WORKERS_RULE)
    .transform((v) => (v === 'auto' ? v : Number(v)))
    .refine((v) => v === 'auto' || v <= 256, WORKERS_RULE)
    .default(1),
});

export type Environment = z.infer<typeof environment>;

export interface Config {
  readonly issuer: string;
  readonly port: number;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Unset only in embedded mode, where one is generated into DATA_DIR on first start. */
  readonly secretKey: string | undefined;
  readonly redisUrl: string | undefined;
  readonly smtpUrl: string | undefined;
  readonly mailFrom: string;
  /**
   * Without SMTP_URL, whether mail (links included) is written to the log: MAIL_TO_LOG, by default
   * true only for a development issuer (http://localhost or http://127.0.0.1).
   */
  readonly mailToLog: boolean;
  readonly github: { clientId: string; clientSecret: string; baseUrl: string; apiUrl: string } | undefined;
  readonly trustProxy: boolean;
  readonly logLevel: Environment['LOG_LEVEL'];
  /** Dynamic client registration (RFC 7591/7592) at /reg, each registration spending an initial access token. */
  readonly dynamicRegistration: boolean;
  /** How many worker processes share the port (`auto`: one per CPU); above 1 only with DATABASE_URL. */
  readonly workers: number;
  /** How long `keys rotate` publishes a new key before it signs (KEY_PUBLISH_DELAY, in seconds). */
  readonly keyPublishDelayMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads and validates the environment; throws a ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const given = Object.fromEntries(Object.keys(environment.shape).flatMap((k) => (env[k] ? [[k, env[k]]] : [])));
  const parsed = environment.safeParse(given);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`Invalid configuration: ${String(issue?.path[0])} ${issue?.message}`);
  }
  const e = parsed.data;
  if (e.DATABASE_URL && !e.SECRET_KEY) {
    throw new ConfigError('Invalid configuration: SECRET_KEY is required when DATABASE_URL is set');
  }
  if (e.WORKERS !== 'auto' && e.WORKERS > 1 && !e.DATABASE_URL) {
    throw new ConfigError(
      `Invalid configuration: WORKERS is ${e.WORKERS}, but the embedded database serves one process; set DATABASE_URL to run several, or WORKERS=1`,
    );
  }
  if (!!e.GITHUB_CLIENT_ID !== !!e.GITHUB_CLIENT_SECRET) {
    throw new ConfigError(
      `Invalid configuration: ${e.GITHUB_CLIENT_ID ? 'GITHUB_CLIENT_SECRET' : 'GITHUB_CLIENT_ID'} is required when the other GitHub setting is set`,
    );
  }
  return Object.freeze({
    issuer: e.ISSUER,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    secretKey: e.SECRET_KEY,
    redisUrl: e.REDIS_URL,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    mailToLog: e.MAIL_TO_LOG ?? isDevelopmentIssuer(e.ISSUER),
    github:
      e.GITHUB_CLIENT_ID && e.GITHUB_CLIENT_SECRET
        ? Object.freeze({
            clientId: e.GITHUB_CLIENT_ID,
            clientSecret: e.GITHUB_CLIENT_SECRET,
            baseUrl: e.GITHUB_BASE_URL,
            apiUrl: e.GITHUB_API_URL,
          })
        : undefined,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    dynamicRegistration: e.DYNAMIC_REGISTRATION,
    // auto: one per CPU, where there is a database to share; the embedded one serves one process.
    workers: e.WORKERS === 'auto' ? (e.DATABASE_URL ? availableParallelism() : 1) : e.WORKERS,
    keyPublishDelayMs: e.KEY_PUBLISH_DELAY * 1000,
  });
}

// A reset link in a log hands over an account, so only a machine's own issuer counts as development.
function isDevelopmentIssuer(issuer: string): boolean {
  const { protocol, hostname } = new URL(issuer);
  return protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
}
