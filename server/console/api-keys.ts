import type { Context } from 'koa';
import type { ConsoleDeps } from './deps.ts';
import { orShowAgain, text, values } from './form.ts';
import { adminOperation } from './operations.ts';
import { adminOf } from './session.ts';
import { allowCopyScript, doneTo, view } from './view.ts';

/** /admin/api-keys: keys for scripts calling the admin API; a new key's value is shown once. */
export function apiKeyPages(deps: ConsoleDeps) {
  const list = adminOperation(deps, 'get', '/api-keys');
  const roles = adminOperation(deps, 'get', '/roles');
  const create = adminOperation(deps, 'post', '/api-keys');
  const revoke = adminOperation(deps, 'delete', '/api-keys/{id}');

  const show = async (ctx: Context, typed: Record<string, string> = {}, error?: string, status = 200) => {
    const [keys, allRoles] = await Promise.all([list(ctx, adminOf(ctx)), roles(ctx, adminOf(ctx))]);
    view(
      ctx,
      deps,
      'api-keys',
      'API keys',
      { title: 'API keys', keys, roles: (allRoles as { name: string }[]).map((r) => r.name), typed, error },
      status,
    );
  };

  return {
    list: (ctx: Context) => show(ctx),
    async create(ctx: Context) {
      const typed = { name: text(ctx, 'name').trim(), expires_in: text(ctx, 'expires_in').trim() };
      await orShowAgain(
        async () => {
          const created = (await create(ctx, adminOf(ctx), {
            body: {
              name: typed.name,
              roles: values(ctx, 'roles'),
              ...(typed.expires_in ? { expires_in: typed.expires_in } : {}),
            },
          })) as { name: string; key: string };
          view(ctx, deps, 'api-key-created', 'API keys', {
            title: 'API key created',
            copyScript: true,
            name: created.name,
            key: created.key,
          });
          allowCopyScript(ctx);
        },
        (error, status) => show(ctx, typed, error, status),
      );
    },
    async revoke(ctx: Context) {
      await revoke(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } });
      doneTo(ctx, '/admin/api-keys', 'api-key-revoked');
    },
  };
}
