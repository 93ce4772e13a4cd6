import type { Context } from 'koa';
import { PAGE_CSP } from '../http/pages.ts';
import { ACCOUNT_CLIENT_ID } from '../oidc/account-client.ts';
import { CONSOLE_CLIENT_ID } from '../oidc/console-client.ts';
import type { ConsoleDeps } from './deps.ts';
import { adminOf } from './session.ts';

/**
 * Renders a console page inside the console's layout: the navigation with the current section
 * marked, who is signed in, and the note of what the last action did (post/redirect/get).
 */
export const SECTIONS = [
  { href: '/admin', label: 'Overview' },
  { href: '/admin/users', label: 'Users' },
  { href: '/admin/clients', label: 'Clients' },
  { href: '/admin/connections', label: 'Connections' },
  { href: '/admin/apis', label: 'APIs' },
  { href: '/admin/roles', label: 'Roles' },
  { href: '/admin/api-keys', label: 'API keys' },
  { href: '/admin/keys', label: 'Signing keys' },
  { href: '/admin/audit', label: 'Audit log' },
] as const;

export type Section = (typeof SECTIONS)[number]['label'];

// Tessera's own clients: named in events, but not stored, so they have no page.
const BUILT_IN_CLIENTS = [ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID];

// What an action did, named in the redirect by key only: the page never shows text from the URL.
const NOTES = {
  'user-invited': 'The user was created and an invitation mail is on its way.',
  'roles-saved': 'The roles were saved. They are in the user’s next token.',
  'user-disabled': 'The user was disabled and every session of theirs ended.',
  'user-enabled': 'The user was enabled.',
  'mfa-reset': 'Two-step verification was removed and every session of theirs ended.',
  'sessions-ended': 'Every session and grant of the user ended.',
  'reset-mailed': 'A password reset mail is on its way.',
  'user-deleted': 'The user was deleted.',
  'client-saved': 'The client was saved.',
  'client-deleted': 'The client was deleted.',
  'connection-created': 'The connection was created. Register its redirect URI at the provider.',
  'connection-saved': 'The connection was saved.',
  'connection-deleted': 'The connection was deleted.',
  'passkey-removed': 'The passkey was removed and every session of theirs ended.',
  'api-created': 'The API was registered.',
  'api-deleted': 'The API was deleted.',
  'role-created': 'The role was created.',
  'role-deleted': 'The role was deleted.',
  'api-key-revoked': 'The API key was revoked.',
  'keys-rotated': 'New signing keys are published; they sign once every node has them.',
} as const;

export type Note = keyof typeof NOTES;

export function view(
  ctx: Context,
  deps: ConsoleDeps,
  template: string,
  section: Section,
  data: Record<string, unknown>,
  status = 200,
) {
  const key = String(ctx.query.done);
  const done = Object.hasOwn(NOTES, key) ? NOTES[key as Note] : undefined;
  deps.page(
    ctx,
    `console/${template}`,
    { sections: SECTIONS, section, admin: adminOf(ctx).user, done, builtInClients: BUILT_IN_CLIENTS, ...data },
    status,
  );
}

/** The page that shows a secret once also loads the copy button's script, from this origin only. */
export function allowCopyScript(ctx: Context) {
  ctx.set('Content-Security-Policy', `${PAGE_CSP}; script-src 'self'`);
}

/** After a change: back to `path` with a note of what was done. */
export function doneTo(ctx: Context, path: string, note: Note) {
  ctx.status = 303;
  ctx.redirect(`${path}?done=${note}`);
}
