import type { Provider } from 'oidc-provider';
import type { Db } from '../../db/database.ts';
import type { Audit } from '../audit/audit.ts';
import type { Page } from '../http/pages.ts';
import type { Secrets } from '../secrets.ts';

/** What the admin console needs: the admin API's own dependencies, pages, and the provider's sessions. */
export interface ConsoleDeps {
  db: Db;
  secrets: Secrets;
  audit: Audit;
  page: Page;
  issuer: string;
  provider: () => Provider;
  /** How this server is set up, for the warnings on the overview. */
  setup: { mailToLog: boolean; smtp: boolean; redis: boolean; postgres: boolean };
}
