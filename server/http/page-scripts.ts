import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Router from '@koa/router';

/**
 * The only scripts Tessera's pages load, both served from its own origin: SimpleWebAuthn's
 * browser bundle and views/assets/passkeys.js, which shows the passkey buttons and drives them.
 * The page CSP (pages.ts) names exactly these two URLs and nothing inline, and every page works
 * without them except the passkey buttons, which stay hidden.
 */
export const WEBAUTHN_SCRIPT = '/assets/simplewebauthn-browser.js';
export const PASSKEYS_SCRIPT = '/assets/passkeys.js';

const bundle = join(
  dirname(fileURLToPath(import.meta.resolve('@simplewebauthn/browser'))),
  '..',
  'dist',
  'bundle',
  'index.umd.min.js',
);
const own = join(import.meta.dirname, '..', '..', 'views', 'assets', 'passkeys.js');

export function pageScriptsRouter(): Router {
  const scripts = new Map([
    [WEBAUTHN_SCRIPT, readFileSync(bundle, 'utf8')],
    [PASSKEYS_SCRIPT, readFileSync(own, 'utf8')],
  ]);
  const router = new Router();
  for (const [path, body] of scripts) {
    router.get(path, (ctx) => {
      ctx.type = 'text/javascript';
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = body;
    });
  }
  return router;
}

/** The CSP `script-src` for pages of `issuer`: these two files, nothing else. */
export const pageScriptSources = (issuer: string) =>
  [WEBAUTHN_SCRIPT, PASSKEYS_SCRIPT].map((path) => new URL(path, issuer).href).join(' ');
