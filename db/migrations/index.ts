import type { Migration } from 'kysely/migration';
import * as initial from './20261123T1500-initial.ts';
import * as accounts from './20261123T1600-accounts.ts';
import * as apiKeys from './20261123T1700-api-keys.ts';
import * as mfa from './20261123T1800-mfa.ts';
import * as federation from './20261123T1900-federation.ts';
import * as hashedArtifactKeys from './20261130T1020-hashed-artifact-keys.ts';
import * as clientApis from './20261130T1030-client-apis.ts';
import * as mailOutbox from './20261130T1050-mail-outbox.ts';
import * as auditChain from './20261130T1060-audit-chain.ts';
import * as pendingSignups from './20261130T1061-pending-signups.ts';
import * as passkeys from './20261130T1900-passkeys.ts';

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
  '20261130T1020-hashed-artifact-keys': hashedArtifactKeys,
  '20261130T1030-client-apis': clientApis,
  '20261130T1050-mail-outbox': mailOutbox,
  '20261130T1060-audit-chain': auditChain,
  '20261130T1061-pending-signups': pendingSignups,
  '20261130T1900-passkeys': passkeys,
};
