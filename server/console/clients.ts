import type { Context } from 'koa';
import type { ClientView } from '../clients/clients.ts';
import { CLIENT_TYPE_OPTIONS, CLIENT_TYPES, CREATE_FIELDS, UPDATE_FIELDS } from './client-fields.ts';
import type { ConsoleDeps } from './deps.ts';
import { orShowAgain, text } from './form.ts';
import { operationsOf } from './operations.ts';
import { fieldsFor, formValues, readFields, typeChoice, typedIn } from './schema-form.ts';
import { adminOf } from './session.ts';
import { allowCopyScript, doneTo, view } from './view.ts';

/**
 * /admin/clients: list, create (one form per client type, the same fields as the CLI and the
 * admin API), see and edit, rotate the secret, delete after a confirmation. A new or rotated
 * secret is shown once, on the answer to the post, with a copy button.
 */
export function clientPages(deps: ConsoleDeps) {
  const op = operationsOf(deps);
  const list = op('get', '/clients');
  const get = op('get', '/clients/{id}');
  const create = op('post', '/clients');
  const update = op('patch', '/clients/{id}');
  const rotate = op('post', '/clients/{id}/rotate-secret');
  const remove = op('delete', '/clients/{id}');
  const pathOf = (id: string) => `/admin/clients/${encodeURIComponent(id)}`;

  const showNew = (ctx: Context, type: string, typed: Record<string, unknown> = {}, error?: string, status = 200) =>
    view(
      ctx,
      deps,
      'client-new',
      'Clients',
      {
        title: 'New client',
        ...typeChoice(CLIENT_TYPE_OPTIONS, CLIENT_TYPES, type),
        fields: fieldsFor(CREATE_FIELDS, type),
        values: typed,
        error,
      },
      status,
    );

  const showClient = async (ctx: Context, typed?: Record<string, unknown>, error?: string, status = 200) => {
    const client = (await get(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } })) as ClientView;
    const fields = fieldsFor(UPDATE_FIELDS, client.type);
    view(
      ctx,
      deps,
      'client',
      'Clients',
      {
        title: client.name,
        client,
        typeLabel: CLIENT_TYPES[client.type] ?? client.type,
        fields,
        values: typed ?? formValues(fields, client as unknown as Record<string, unknown>),
        hasSecret: client.type !== 'spa',
        error,
      },
      status,
    );
  };

  const showSecret = (ctx: Context, client: { client_id: string; name?: string }, secret: string, fresh: boolean) => {
    view(ctx, deps, 'client-secret', 'Clients', {
      title: 'Client secret',
      copyScript: true,
      clientId: client.client_id,
      clientName: client.name,
      secret,
      fresh,
    });
    allowCopyScript(ctx);
  };

  return {
    async list(ctx: Context) {
      view(ctx, deps, 'clients', 'Clients', { title: 'Clients', clients: await list(ctx, adminOf(ctx)) });
    },

    showNew: (ctx: Context) => showNew(ctx, String(ctx.query.type ?? '')),

    async create(ctx: Context) {
      const type = text(ctx, 'type');
      const fields = fieldsFor(CREATE_FIELDS, type);
      await orShowAgain(
        async () => {
          const created = (await create(ctx, adminOf(ctx), {
            body: { type, ...readFields(ctx, fields, 'create') },
          })) as ClientView & { client_secret?: string };
          if (created.client_secret) return showSecret(ctx, created, created.client_secret, true);
          doneTo(ctx, pathOf(created.client_id), 'client-saved');
        },
        async (error, status) => showNew(ctx, type, typedIn(ctx, fields), error, status),
      );
    },

    show: (ctx: Context) => showClient(ctx),

    async update(ctx: Context) {
      const id = String(ctx.params.id);
      const client = (await get(ctx, adminOf(ctx), { params: { id } })) as ClientView;
      const fields = fieldsFor(UPDATE_FIELDS, client.type);
      await orShowAgain(
        async () => {
          await update(ctx, adminOf(ctx), { params: { id }, body: readFields(ctx, fields, 'update') });
          doneTo(ctx, pathOf(id), 'client-saved');
        },
        (error, status) => showClient(ctx, typedIn(ctx, fields), error, status),
      );
    },

    async rotate(ctx: Context) {
      const id = String(ctx.params.id);
      const client = (await get(ctx, adminOf(ctx), { params: { id } })) as ClientView;
      const rotated = (await rotate(ctx, adminOf(ctx), { params: { id } })) as { client_secret: string };
      showSecret(ctx, client, rotated.client_secret, false);
    },

    async confirmDelete(ctx: Context) {
      const client = (await get(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } })) as ClientView;
      view(ctx, deps, 'confirm-delete', 'Clients', {
        title: `Delete ${client.name}`,
        what: client.name,
        consequence: 'The client can no longer sign anyone in or get tokens.',
        action: `${pathOf(client.client_id)}/delete`,
        back: pathOf(client.client_id),
      });
    },

    async remove(ctx: Context) {
      await remove(ctx, adminOf(ctx), { params: { id: String(ctx.params.id) } });
      doneTo(ctx, '/admin/clients', 'client-deleted');
    },
  };
}
