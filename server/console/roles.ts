import type { Context } from 'koa';
import type { ConsoleDeps } from './deps.ts';
import { orShowAgain, text, values } from './form.ts';
import { adminOperation } from './operations.ts';
import { adminOf } from './session.ts';
import { doneTo, view } from './view.ts';

/** /admin/roles: the roles people and clients hold; create one, delete one (never `admin`). */
export function rolePages(deps: ConsoleDeps) {
  const list = adminOperation(deps, 'get', '/roles');
  const create = adminOperation(deps, 'post', '/roles');
  const remove = adminOperation(deps, 'delete', '/roles/{id}');

  const show = async (ctx: Context, typed: Record<string, string> = {}, error?: string, status = 200) =>
    view(ctx, deps, 'roles', 'Roles', { title: 'Roles', roles: await list(ctx, adminOf(ctx)), typed, error }, status);

  return {
    list: (ctx: Context) => show(ctx),
    async create(ctx: Context) {
      const typed = { name: text(ctx, 'name').trim(), description: text(ctx, 'description').trim() };
      await orShowAgain(
        async () => {
          await create(ctx, adminOf(ctx), {
            body: {
              name: typed.name,
              ...(typed.description ? { description: typed.description } : {}),
              requires_mfa: values(ctx, 'requires_mfa').includes('on'),
            },
          });
          doneTo(ctx, '/admin/roles', 'role-created');
        },
        (error, status) => show(ctx, typed, error, status),
      );
    },
    async remove(ctx: Context) {
      await orShowAgain(
        async () => {
          await remove(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } });
          doneTo(ctx, '/admin/roles', 'role-deleted');
        },
        (error, status) => show(ctx, {}, error, status),
      );
    },
  };
}
