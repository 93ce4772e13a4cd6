import type { Context } from 'koa';
import type { ConnectionView } from '../connections/connections.ts';
import { CONNECTION_TYPE_OPTIONS, CONNECTION_TYPES, CREATE_FIELDS, UPDATE_FIELDS } from './connection-fields.ts';
import type { ConsoleDeps } from './deps.ts';
import { orShowAgain, text } from './form.ts';
import { operationsOf } from './operations.ts';
import { fieldsFor, formValues, readFields, typeChoice, typedIn } from './schema-form.ts';
import { adminOf } from './session.ts';
import { allowCopyScript, doneTo, view } from './view.ts';

/**
 * /admin/connections: the upstream identity providers people may sign in with. List, create (one
 * form per type, the admin API's fields), see the redirect URI to register upstream, edit, delete
 * after a confirmation. The connection the GITHUB_* variables define is shown, not changed.
 */
export function connectionPages(deps: ConsoleDeps) {
  const op = operationsOf(deps);
  const list = op('get', '/connections');
  const get = op('get', '/connections/{id}');
  const create = op('post', '/connections');
  const update = op('patch', '/connections/{id}');
  const remove = op('delete', '/connections/{id}');
  const pathOf = (id: string) => `/admin/connections/${encodeURIComponent(id)}`;
  const find = async (ctx: Context) =>
    (await get(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } })) as ConnectionView;

  const showNew = (ctx: Context, type: string, typed: Record<string, unknown>, error?: string, status = 200) =>
    view(
      ctx,
      deps,
      'connection-new',
      'Connections',
      {
        title: 'New connection',
        ...typeChoice(CONNECTION_TYPE_OPTIONS, CONNECTION_TYPES, type),
        fields: fieldsFor(CREATE_FIELDS, type),
        values: typed,
        error,
      },
      status,
    );

  const showConnection = async (ctx: Context, typed?: Record<string, unknown>, error?: string, status = 200) => {
    const connection = await find(ctx);
    const fields = fieldsFor(UPDATE_FIELDS, connection.type);
    view(
      ctx,
      deps,
      'connection',
      'Connections',
      {
        title: connection.name,
        copyScript: true,
        connection,
        typeLabel: CONNECTION_TYPES[connection.type] ?? connection.type,
        fromEnvironment: connection.source === 'environment',
        fields,
        values: typed ?? formValues(fields, connection as unknown as Record<string, unknown>),
        error,
      },
      status,
    );
    allowCopyScript(ctx);
  };

  return {
    async list(ctx: Context) {
      view(ctx, deps, 'connections', 'Connections', {
        title: 'Connections',
        connections: await list(ctx, adminOf(ctx)),
      });
    },

    // A new connection is enabled unless the box is cleared, as in the API.
    showNew: (ctx: Context) => showNew(ctx, String(ctx.query.type ?? ''), { enabled: true }),

    async create(ctx: Context) {
      const type = text(ctx, 'type');
      const fields = fieldsFor(CREATE_FIELDS, type);
      await orShowAgain(
        async () => {
          const created = (await create(ctx, adminOf(ctx), {
            body: { type, ...readFields(ctx, fields, 'create') },
          })) as ConnectionView;
          doneTo(ctx, pathOf(created.id), 'connection-created');
        },
        async (error, status) => showNew(ctx, type, typedIn(ctx, fields), error, status),
      );
    },

    show: (ctx: Context) => showConnection(ctx),

    async update(ctx: Context) {
      const id = String(ctx.params.id);
      const fields = fieldsFor(UPDATE_FIELDS, (await find(ctx)).type);
      await orShowAgain(
        async () => {
          await update(ctx, adminOf(ctx), { params: { id }, body: readFields(ctx, fields, 'update') });
          doneTo(ctx, pathOf(id), 'connection-saved');
        },
        (error, status) => showConnection(ctx, typedIn(ctx, fields), error, status),
      );
    },

    async confirmDelete(ctx: Context) {
      const connection = await find(ctx);
      view(ctx, deps, 'confirm-delete', 'Connections', {
        title: `Delete ${connection.name}`,
        what: connection.name,
        consequence:
          'Its sign-in button goes away and the identities linked through it are removed; the accounts stay, with their other ways in.',
        action: `${pathOf(connection.id)}/delete`,
        back: pathOf(connection.id),
      });
    },

    async remove(ctx: Context) {
      await remove(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } });
      doneTo(ctx, '/admin/connections', 'connection-deleted');
    },
  };
}
