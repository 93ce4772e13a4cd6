import type { MailDeps } from '../accounts/account-mail.ts';
import type { Audit } from '../audit/audit.ts';
import type { Page } from '../http/pages.ts';
import type { RateLimiter } from '../rate-limit/rate-limits.ts';

/** What the self-service pages (verification, password reset, account) need. */
export interface SelfServiceDeps extends MailDeps {
  audit: Audit;
  page: Page;
  rateLimiter: RateLimiter;
}
