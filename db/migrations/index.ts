import type { Migration } from 'kysely/migration';
import * as initial from './20261123T1500-initial.ts';
import * as accounts from './20261123T1600-accounts.ts';
import * as apiKeys from './20261123T1700-api-keys.ts';
import * as mfa from './20261123T1800-mfa.ts';
import * as federation from './20261123T1900-federation.ts';
import * as mailOutbox from './20261130T1050-mail-outbox.ts';

/**
 * Every migration, by name in the order they apply. Listed here rather than read from the folder
 * so they load the same under Node, Jest and a bundled image.
 */
export const migrations: Record<string, Migration> = {
  '20261123T1500-initial': initial,
  '20261123T1600-accounts': accounts,
  '20261123T1700-api-keys': apiKeys,
  '20261123T1800-mfa': mfa,
  '20261123T1900-federation': federation,
  '20261130T1050-mail-outbox': mailOutbox,
};
