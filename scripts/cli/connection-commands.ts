import {
  type ConnectionPatch,
  createConnection,
  deleteConnection,
  describeConnection,
  listConnectionViews,
  requireConnection,
  updateConnection,
} from '../../server/connections/connections.ts';
import { AppError } from '../../server/errors.ts';
import { type Command, type CommandContext, list, text } from './context.ts';

/**
 * `tessera connections …`: upstream identity providers, with the same fields and rules as the
 * admin API (server/connections/). The client secret is read from standard input only, so it is
 * in no shell history or process list, and no command prints it back.
 */
const CLI = { actor: 'cli' };

/** The flags `connections create` and `connections update` share. */
const FLAGS = {
  name: { type: 'string' },
  issuer: { type: 'string' },
  'base-url': { type: 'string' },
  'api-url': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-stdin': { type: 'boolean' },
  scope: { type: 'string', multiple: true },
  domain: { type: 'string', multiple: true },
  'trust-upstream-mfa': { type: 'boolean' },
} as const;

/** A repeatable flag's values; `--domain ''` (an empty value) stands for an empty list. */
const listed = (value: unknown): string[] => list(value).filter((v) => v !== '');

async function secretFromStdin(readStdin: CommandContext['readStdin']): Promise<string> {
  const secret = (await readStdin().catch(() => '')).replace(/\r?\n$/, '');
  if (!secret) throw new AppError('invalid_input', 'nothing on standard input: pipe the client secret in');
  return secret;
}

export const connectionCommands: Record<string, Command> = {
  'connections create': {
    usage:
      'tessera connections create --type oidc|github --name N [--issuer URL] [--base-url URL --api-url URL] --client-id ID --client-secret-stdin [--scope S]… [--domain D]… [--trust-upstream-mfa] [--disabled]',
    options: { ...FLAGS, type: { type: 'string' }, disabled: { type: 'boolean' } },
    async run({ db, secrets, audit, issuer, values, readStdin }) {
      if (!values['client-secret-stdin']) {
        throw new AppError(
          'invalid_input',
          '--client-secret-stdin is required (the secret is read from standard input)',
        );
      }
      const created = await createConnection(db, secrets, issuer, {
        type: text(values.type) as 'oidc',
        name: text(values.name) ?? '',
        ...(text(values.issuer) !== undefined ? { issuer: text(values.issuer) } : {}),
        ...(text(values['base-url']) !== undefined ? { base_url: text(values['base-url']) } : {}),
        ...(text(values['api-url']) !== undefined ? { api_url: text(values['api-url']) } : {}),
        client_id: text(values['client-id']) ?? '',
        client_secret: await secretFromStdin(readStdin),
        scopes: listed(values.scope),
        domains: listed(values.domain),
        trust_upstream_mfa: values['trust-upstream-mfa'] === true,
        enabled: values.disabled !== true,
      });
      await audit({ type: 'connection.created', ...CLI, details: { id: created.id, type: created.type } });
      return created;
    },
  },
  'connections update': {
    usage:
      "tessera connections update ID [--name N] [--issuer URL] [--base-url URL] [--api-url URL] [--client-id ID] [--client-secret-stdin] [--scope S]… [--domain D]… [--trust-upstream-mfa | --no-trust-upstream-mfa] [--enable | --disable]   (a list given replaces the stored one; --domain '' empties it)",
    options: {
      ...FLAGS,
      'no-trust-upstream-mfa': { type: 'boolean' },
      enable: { type: 'boolean' },
      disable: { type: 'boolean' },
    },
    positionals: 1,
    async run({ db, secrets, audit, issuer, values, readStdin, positionals: [id = ''] }) {
      for (const [yes, no] of [
        ['trust-upstream-mfa', 'no-trust-upstream-mfa'],
        ['enable', 'disable'],
      ] as const) {
        if (values[yes] && values[no]) throw new AppError('invalid_input', `give --${yes} or --${no}, not both`);
      }
      const given = (flag: string) => values[flag] !== undefined;
      const patch: ConnectionPatch = {
        ...(given('name') ? { name: text(values.name) ?? '' } : {}),
        ...(given('issuer') ? { issuer: text(values.issuer) ?? '' } : {}),
        ...(given('base-url') ? { base_url: text(values['base-url']) ?? '' } : {}),
        ...(given('api-url') ? { api_url: text(values['api-url']) ?? '' } : {}),
        ...(given('client-id') ? { client_id: text(values['client-id']) ?? '' } : {}),
        ...(given('client-secret-stdin') ? { client_secret: await secretFromStdin(readStdin) } : {}),
        ...(given('scope') ? { scopes: listed(values.scope) } : {}),
        ...(given('domain') ? { domains: listed(values.domain) } : {}),
        ...(given('trust-upstream-mfa') ? { trust_upstream_mfa: true } : {}),
        ...(given('no-trust-upstream-mfa') ? { trust_upstream_mfa: false } : {}),
        ...(given('enable') ? { enabled: true } : {}),
        ...(given('disable') ? { enabled: false } : {}),
      };
      if (Object.keys(patch).length === 0) {
        throw new AppError('invalid_input', 'nothing to change: give at least one flag');
      }
      const { connection, identitiesUnlinked } = await updateConnection(db, secrets, issuer, id, patch);
      const details = { id, fields: Object.keys(patch), identities_unlinked: identitiesUnlinked };
      await audit({ type: 'connection.updated', ...CLI, details });
      return connection;
    },
  },
  'connections list': {
    usage: 'tessera connections list',
    run: ({ db, issuer }) => listConnectionViews(db, issuer),
  },
  'connections show': {
    usage: 'tessera connections show ID',
    positionals: 1,
    run: async ({ db, issuer, positionals: [id = ''] }) => describeConnection(await requireConnection(db, id), issuer),
  },
  'connections delete': {
    usage: 'tessera connections delete ID   (people who signed in only through it keep their accounts)',
    positionals: 1,
    async run({ db, audit, positionals: [id = ''] }) {
      await deleteConnection(db, id);
      await audit({ type: 'connection.deleted', ...CLI, details: { id } });
      return { id, deleted: true };
    },
  },
};
