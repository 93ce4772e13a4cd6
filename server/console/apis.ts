import type { Context } from 'koa';
import type { ApiView } from '../apis/apis.ts';
import type { ConsoleDeps } from './deps.ts';
import { lines, orShowAgain, text } from './form.ts';
import { adminOperation } from './operations.ts';
import { adminOf } from './session.ts';
import { doneTo, view } from './view.ts';

/** /admin/apis: the registered APIs (resource servers); register one, delete one. */
export function apiPages(deps: ConsoleDeps) {
  const list = adminOperation(deps, 'get', '/apis');
  const create = adminOperation(deps, 'post', '/apis');
  const remove = adminOperation(deps, 'delete', '/apis/{id}');

  const show = async (ctx: Context, typed: Record<string, string> = {}, error?: string, status = 200) =>
    view(
      ctx,
      deps,
      'apis',
      'APIs',
      { title: 'APIs', apis: (await list(ctx, adminOf(ctx))) as ApiView[], typed, error },
      status,
    );

  return {
    list: (ctx: Context) => show(ctx),
    async create(ctx: Context) {
      const typed = {
        audience: text(ctx, 'audience').trim(),
        name: text(ctx, 'name').trim(),
        scopes: text(ctx, 'scopes'),
      };
      await orShowAgain(
        async () => {
          const ttl = text(ctx, 'access_token_ttl').trim();
          await create(ctx, adminOf(ctx), {
            body: {
              audience: typed.audience,
              ...(typed.name ? { name: typed.name } : {}),
              scopes: lines(ctx, 'scopes'),
              ...(ttl ? { access_token_ttl: Number(ttl) } : {}),
            },
          });
          doneTo(ctx, '/admin/apis', 'api-created');
        },
        (error, status) => show(ctx, typed, error, status),
      );
    },
    async remove(ctx: Context) {
      await orShowAgain(
        async () => {
          await remove(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } });
          doneTo(ctx, '/admin/apis', 'api-deleted');
        },
        (error, status) => show(ctx, {}, error, status),
      );
    },
  };
}
