import type { Context } from 'koa';
import { listArtifactsOf } from '../../adapters/account-artifacts.ts';
import { identitiesOfUser } from '../../db/repositories/federated-identities.ts';
import type { UserFactors } from '../accounts/user-factors.ts';
import type { UserView } from '../accounts/users.ts';
import type { ConsoleDeps } from './deps.ts';
import { orShowAgain, pageNumber, text, values } from './form.ts';
import { operationsOf } from './operations.ts';
import { paging } from './paging.ts';
import { adminOf } from './session.ts';
import { doneTo, type Note, view } from './view.ts';

/**
 * /admin/users: search and page through users, invite one (an account without a password and a
 * mail to choose it), and on a user's page everything an operator does to an account. Every
 * change is the admin API's own endpoint (operations.ts); this file only reads forms and renders.
 */
const PAGE_SIZE = 50;

export function userPages(deps: ConsoleDeps) {
  const op = operationsOf(deps);
  const list = op('get', '/users');
  const get = op('get', '/users/{id}');
  const invite = op('post', '/users/invitations');
  const setRoles = op('put', '/users/{id}/roles');
  const roles = op('get', '/roles');
  const events = op('get', '/audit-events');
  const actions = {
    disable: [op('post', '/users/{id}/disable'), 'user-disabled'],
    enable: [op('post', '/users/{id}/enable'), 'user-enabled'],
    'mfa-reset': [op('post', '/users/{id}/mfa/reset'), 'mfa-reset'],
    'end-sessions': [op('post', '/users/{id}/revoke-sessions'), 'sessions-ended'],
    'reset-mail': [op('post', '/users/{id}/reset-password-mail'), 'reset-mailed'],
  } as const;
  const remove = op('delete', '/users/{id}');
  const factorsOf = op('get', '/users/{id}/factors');
  const removePasskey = op('delete', '/users/{id}/passkeys/{passkeyId}');
  const roleNames = async (ctx: Context) => ((await roles(ctx, adminOf(ctx))) as { name: string }[]).map((r) => r.name);

  const showNew = async (ctx: Context, typed: Record<string, unknown> = {}, error?: string, status = 200) =>
    view(ctx, deps, 'user-new', 'Users', { title: 'Invite a user', roles: await roleNames(ctx), typed, error }, status);

  return {
    async list(ctx: Context) {
      const q = typeof ctx.query.q === 'string' ? ctx.query.q.trim() : '';
      const page = pageNumber(ctx);
      const found = (await list(ctx, adminOf(ctx), {
        query: { ...(q ? { q } : {}), limit: String(PAGE_SIZE), offset: String((page - 1) * PAGE_SIZE) },
      })) as { items: UserView[]; total: number };
      view(ctx, deps, 'users', 'Users', {
        title: 'Users',
        q,
        users: found.items,
        paging: paging(page, found.total, PAGE_SIZE, { q }),
      });
    },

    showNew: (ctx: Context) => showNew(ctx),

    async invite(ctx: Context) {
      const typed = {
        email: text(ctx, 'email').trim(),
        username: text(ctx, 'username').trim(),
        name: text(ctx, 'full_name').trim(),
        roles: values(ctx, 'roles'),
      };
      await orShowAgain(
        async () => {
          const input = {
            email: typed.email,
            ...(typed.username ? { username: typed.username } : {}),
            ...(typed.name ? { name: typed.name } : {}),
            roles: typed.roles,
          };
          const created = (await invite(ctx, adminOf(ctx), { body: input })) as UserView;
          doneTo(ctx, `/admin/users/${encodeURIComponent(created.id)}`, 'user-invited');
        },
        (error, status) => showNew(ctx, typed, error, status),
      );
    },

    async show(ctx: Context) {
      await showUser(ctx);
    },

    async setRoles(ctx: Context) {
      const id = String(ctx.params.id);
      await changeUser(
        ctx,
        () => setRoles(ctx, adminOf(ctx), { params: { id }, body: { roles: values(ctx, 'roles') } }),
        `/admin/users/${encodeURIComponent(id)}`,
        'roles-saved',
      );
    },

    action(name: keyof typeof actions) {
      const [run, note] = actions[name];
      return async (ctx: Context) => {
        const id = String(ctx.params.id);
        await changeUser(
          ctx,
          () => run(ctx, adminOf(ctx), { params: { id } }),
          `/admin/users/${encodeURIComponent(id)}`,
          note,
        );
      };
    },

    async removePasskey(ctx: Context) {
      const id = String(ctx.params.id);
      await removePasskey(ctx, adminOf(ctx), { params: { id, passkeyId: String(ctx.params.passkeyId) } });
      doneTo(ctx, `/admin/users/${encodeURIComponent(id)}`, 'passkey-removed');
    },

    async confirmDelete(ctx: Context) {
      const user = (await get(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } })) as UserView;
      view(ctx, deps, 'confirm-delete', 'Users', {
        title: `Delete ${user.email}`,
        what: user.email,
        consequence: 'The account, its roles, factors and linked identities are deleted, and every session ends.',
        action: `/admin/users/${encodeURIComponent(user.id)}/delete`,
        back: `/admin/users/${encodeURIComponent(user.id)}`,
      });
    },

    async remove(ctx: Context) {
      await changeUser(
        ctx,
        () => remove(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } }),
        '/admin/users',
        'user-deleted',
      );
    },
  };

  /** Makes an operator's change, then goes to `to` saying `note`; a refusal shows the user's page again with why. */
  async function changeUser(ctx: Context, change: () => Promise<unknown>, to: string, note: Note) {
    await orShowAgain(
      async () => {
        await change();
        doneTo(ctx, to, note);
      },
      (error, status) => showUser(ctx, error, status),
    );
  }

  async function showUser(ctx: Context, error?: string, status = 200) {
    const admin = adminOf(ctx);
    const id = String(ctx.params.id);
    const user = (await get(ctx, admin, { params: { id } })) as UserView;
    const [allRoles, factors, sessions, grants, identities, recent] = await Promise.all([
      roleNames(ctx),
      factorsOf(ctx, admin, { params: { id } }) as Promise<UserFactors>,
      listArtifactsOf(deps.db, id, 'Session'),
      listArtifactsOf(deps.db, id, 'Grant'),
      identitiesOfUser(deps.db, id),
      events(ctx, admin, { query: { user_id: id, limit: '10' } }) as Promise<{ items: unknown[] }>,
    ]);
    const provider = deps.provider();
    const clientName = async (clientId: string) =>
      ((await provider.Client.find(clientId)) as { clientName?: string } | undefined)?.clientName ?? clientId;
    const at = (seconds: unknown) => new Date(Number(seconds) * 1000).toISOString().replace('T', ' ').slice(0, 19);
    view(
      ctx,
      deps,
      'user',
      'Users',
      {
        title: user.email,
        user,
        hasPassword: factors.password,
        allRoles,
        mfa: { totp: factors.totp !== null, codesLeft: factors.recovery_codes_left },
        passkeys: factors.passkeys.map((p) => ({
          id: p.id,
          name: p.name,
          added: p.created_at.slice(0, 10),
          lastUsed: p.last_used_at?.slice(0, 16).replace('T', ' '),
        })),
        identities: identities.map((i) => ({ provider: i.provider, name: i.display_name, since: i.linked_at })),
        sessions: sessions.map((s) => ({ since: at(s.payload.loginTs), amr: (s.payload.amr as string[]) ?? [] })),
        apps: await Promise.all(
          grants.map(async (g) => ({
            name: await clientName(String(g.payload.clientId)),
            scopes: String((g.payload.openid as { scope?: string } | undefined)?.scope ?? ''),
            since: at(g.payload.iat),
          })),
        ),
        events: recent.items.map((e) => ({ ...(e as object), at: new Date((e as { at: string }).at) })),
        error,
      },
      status,
    );
  }
}
