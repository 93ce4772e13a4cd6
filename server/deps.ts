import { type Database, type Db, openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrator.ts';
import { measurePendingMail } from '../db/repositories/mail-outbox.ts';
import { composeAccountMail } from './accounts/account-mail-composer.ts';
import { adminAudience } from './admin-api/auth.ts';
import { ensureApi } from './apis/apis.ts';
import { type Audit, createAudit } from './audit/audit.ts';
import { Catalog } from './catalog.ts';
import type { Config } from './config.ts';
import { syncEnvironmentGitHub } from './connections/environment-github.ts';
import { createMailer, type Mailer } from './email/mailer.ts';
import { type MailOutboxWorker, startMailOutbox } from './email/outbox.ts';
import { reasonOf } from './http/dependency-errors.ts';
import { createMetrics, type Metrics } from './http/metrics.ts';
import { createPages, type Page } from './http/pages.ts';
import { ensureSigningKeys } from './keys/signing-keys.ts';
import type { Logger } from './logger.ts';
import { startLogoutSender } from './logout/logout-sender.ts';
import { createOidcHost, type OidcHost } from './oidc/provider.ts';
import { countIssuedTokens } from './oidc/token-counter.ts';
import { createRateLimiter, type RateLimiter } from './rate-limit/rate-limits.ts';
import { createSecrets, resolveSecretKey, type Secrets } from './secrets.ts';
import { startSweeper } from './sweeper.ts';

/** Everything the server is made of, created here once and handed down. */
export interface Deps {
  config: Config;
  logger: Logger;
  secrets: Secrets;
  database: Database;
  db: Db;
  catalog: Catalog;
  oidc: OidcHost;
  audit: Audit;
  page: Page;
  stylesheet: string;
  mailer: Mailer;
  mailOutbox: MailOutboxWorker;
  rateLimiter: RateLimiter;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function createDeps(config: Config, logger: Logger): Promise<Deps> {
  const secrets = createSecrets(await resolveSecretKey(config));
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    role: 'server',
    onConnectionError: (err) => logger.warn({ reason: reasonOf(err) }, 'database connection lost'),
    onSocketWarning: (message) => logger.warn(message),
  });
  const { db } = database;
  const applied = await migrateToLatest(db);
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  await ensureSigningKeys(db, secrets);
  await ensureApi(db, adminAudience(config.issuer), 'Tessera admin API');
  const unlinked = await syncEnvironmentGitHub(db, secrets, config.github);
  if (unlinked) logger.warn({ unlinked }, 'GITHUB_BASE_URL names another GitHub: its linked identities were unlinked');
  const catalog = new Catalog(db, secrets, logger);
  await catalog.load();
  const { page, stylesheet } = createPages(config.issuer);
  const metrics = createMetrics();
  const audit = createAudit(db, logger, metrics.countEvent);
  const rateLimiter = createRateLimiter({ db, redisUrl: config.redisUrl, logger });
  const tokenCounter = countIssuedTokens(db, logger);
  const oidc = createOidcHost({
    issuer: config.issuer,
    db,
    secrets,
    catalog,
    logger,
    page,
    audit,
    rateLimiter,
    dynamicRegistration: config.dynamicRegistration,
    tokenIssued: tokenCounter.count,
  });
  const logoutSender = startLogoutSender({ db, logger, audit, post: oidc.postLogout });
  const stopSweeper = startSweeper(db, logger);
  const mailer = createMailer({ smtpUrl: config.smtpUrl, mailFrom: config.mailFrom, toLog: config.mailToLog }, logger);
  const compose = composeAccountMail({ db, issuer: config.issuer });
  const mailOutbox = startMailOutbox({ db, mailer, logger, compose, counted: metrics.countMail });
  metrics.watchMailOutbox(() => measurePendingMail(db));
  return {
    config,
    logger,
    secrets,
    database,
    db,
    catalog,
    oidc,
    audit,
    page,
    stylesheet,
    mailer,
    mailOutbox,
    rateLimiter,
    metrics,
    async close() {
      stopSweeper();
      catalog.stop();
      await tokenCounter.stop();
      // A send in progress finishes before its connection and the database close.
      await mailOutbox.stop();
      await logoutSender.stop();
      mailer.close();
      await rateLimiter.close();
      await database.close();
    },
  };
}
