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
import * as refreshGrace from './20261130T1300-refresh-grace.ts';
import * as clientAuthentication from './20261130T1400-client-authentication.ts';
import * as flows from './20261130T1500-flows.ts';
import * as importedPasswords from './20261130T1700-imported-passwords.ts';
import * as adminConsole from './20261130T1800-console.ts';
import * as userSearch from './20261130T1810-user-search.ts';
import * as passkeys from './20261130T1900-passkeys.ts';
import * as connections from './20261130T2000-connections.ts';

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
  '20261130T1300-refresh-grace': refreshGrace,
  '20261130T1400-client-authentication': clientAuthentication,
  '20261130T1500-flows': flows,
  '20261130T1700-imported-passwords': importedPasswords,
  '20261130T1800-console': adminConsole,
  '20261130T1810-user-search': userSearch,
  '20261130T1900-passkeys': passkeys,
  '20261130T2000-connections': connections,
};
