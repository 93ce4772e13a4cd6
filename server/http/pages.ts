import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Eta } from 'eta';
import type { Context } from 'koa';
import { pageScriptSources } from './page-scripts.ts';

/**
 * Server-rendered pages: Eta templates in `views/`, escaped by default (`<%=`), no inline script,
 * so the CSP below allows exactly the two script files of the passkey buttons (page-scripts.ts)
 * and, for them, requests to this origin. `form-action` is left out on purpose: browsers apply
 * it to the redirects after a form post, which take the user back to the client's redirect URI.
 */
const VIEWS = join(import.meta.dirname, '..', '..', 'views');

/** What every page allows; the pages' own script sources are added per issuer below. */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

export type Page = (ctx: Context, name: string, data: Record<string, unknown>, status?: number) => void;

export function createPages(issuer: string): { page: Page; stylesheet: string } {
  const csp = `${PAGE_CSP}; script-src ${pageScriptSources(issuer)}; connect-src 'self'`;
  const eta = new Eta({ views: VIEWS, cache: true, autoEscape: true });
  const page: Page = (ctx, name, data, status = 200) => {
    ctx.status = status;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', csp);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = eta.render(name, { csrf: ctx.state.csrf, ...data });
  };
  return { page, stylesheet: readFileSync(join(VIEWS, 'assets', 'tessera.css'), 'utf8') };
}
