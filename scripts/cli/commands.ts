import { createUser, disableUser, setRolesOfUser } from '../../server/accounts/users.ts';
import { createApiKey, listApiKeys, revokeApiKey } from '../../server/api-keys/api-keys.ts';
import { createApi, listApis } from '../../server/apis/apis.ts';
import { verifyAuditChain } from '../../server/audit/verify-chain.ts';
import {
  createClient,
  deleteClient,
  describeClient,
  listClientViews,
  requireClient,
  rotateClientSecret,
  updateClient,
} from '../../server/clients/clients.ts';
import { AppError } from '../../server/errors.ts';
import { rotateSigningKeys } from '../../server/keys/signing-keys.ts';
import { createRole, listRoles } from '../../server/roles/roles.ts';
import { backupCommands } from './backup-commands.ts';
import { CLIENT_AUTH_FLAGS, CLIENT_AUTH_USAGE, clientAuthFields } from './client-auth-flags.ts';
import { connectionCommands } from './connection-commands.ts';
import { type Command, list, type StandaloneCommand, text } from './context.ts';
import { importCommands } from './import-commands.ts';
import { registrationTokenCommands } from './registration-token-commands.ts';
import { userFactorCommands } from './user-factor-commands.ts';

const CLI = { actor: 'cli' };

/** The flags `clients create` and `clients update` share. */
const CLIENT_FLAGS = {
  name: { type: 'string' },
  'redirect-uri': { type: 'string', multiple: true },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  role: { type: 'string', multiple: true },
  api: { type: 'string', multiple: true },
  'require-mfa': { type: 'boolean' },
  'backchannel-logout-uri': { type: 'string' },
  'refresh-grace': { type: 'string' },
  ...CLIENT_AUTH_FLAGS,
} as const;

/** A repeatable flag's values; `--api ''` (an empty value) stands for an empty list. */
const listed = (value: unknown): string[] => list(value).filter((v) => v !== '');

/** `--refresh-grace SECONDS` as a number; anything but digits is refused here, the range by the client rules. */
const graceSeconds = (value: unknown): { refresh_grace_seconds?: number } => {
  if (value === undefined) return {};
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value)) {
    throw new AppError('invalid_input', '--refresh-grace must be a whole number of seconds');
  }
  return { refresh_grace_seconds: Number(value) };
};

/** Every `tessera` command: the words that name it, its flags, and what it does. */
export const commands: Record<string, Command | StandaloneCommand> = {
  ...backupCommands,
  ...registrationTokenCommands,
  ...connectionCommands,
  ...importCommands,
  ...userFactorCommands,
  migrate: {
    usage: 'tessera migrate',
    // Pending migrations are applied before any command runs; this one reports them.
    run: async ({ applied }) => ({ applied, status: 'up to date' }),
  },

  'clients create': {
    usage: `tessera clients create --name N --type web|spa|machine|device [--redirect-uri U]… [--post-logout-redirect-uri U]… [--scope S]… [--role R]… [--api AUDIENCE]… [--require-mfa] [--backchannel-logout-uri U] [--refresh-grace SECONDS] ${CLIENT_AUTH_USAGE}`,
    options: { ...CLIENT_FLAGS, type: { type: 'string' } },
    async run({ db, secrets, audit, values }) {
      const created = await createClient(db, secrets, {
        name: text(values.name) ?? '',
        type: text(values.type) as 'web',
        redirect_uris: list(values['redirect-uri']),
        post_logout_redirect_uris: list(values['post-logout-redirect-uri']),
        ...(values.scope ? { scopes: list(values.scope) } : {}),
        roles: list(values.role),
        apis: list(values.api),
        require_mfa: values['require-mfa'] === true,
        backchannel_logout_uri: text(values['backchannel-logout-uri']) ?? null,
        ...graceSeconds(values['refresh-grace']),
        ...(await clientAuthFields(values)),
      });
      await audit({
        type: 'client.created',
        clientId: created.client_id,
        ...CLI,
        details: { type: created.type, apis: created.apis },
      });
      return created;
    },
  },
  'clients update': {
    usage: `tessera clients update CLIENT_ID [--name N] [--redirect-uri U]… [--post-logout-redirect-uri U]… [--scope S]… [--role R]… [--api AUDIENCE]… [--require-mfa | --no-require-mfa] [--backchannel-logout-uri U] [--refresh-grace SECONDS] ${CLIENT_AUTH_USAGE}   (a list given replaces the stored one; --api '' or --backchannel-logout-uri '' empties it)`,
    options: { ...CLIENT_FLAGS, 'no-require-mfa': { type: 'boolean' } },
    positionals: 1,
    async run({ db, secrets, audit, values, positionals: [id = ''] }) {
      if (values['require-mfa'] && values['no-require-mfa']) {
        throw new AppError('invalid_input', 'give --require-mfa or --no-require-mfa, not both');
      }
      const given = (flag: string) => values[flag] !== undefined;
      const patch = {
        ...(given('name') ? { name: text(values.name) ?? '' } : {}),
        ...(given('redirect-uri') ? { redirect_uris: listed(values['redirect-uri']) } : {}),
        ...(given('post-logout-redirect-uri')
          ? { post_logout_redirect_uris: listed(values['post-logout-redirect-uri']) }
          : {}),
        ...(given('scope') ? { scopes: listed(values.scope) } : {}),
        ...(given('role') ? { roles: listed(values.role) } : {}),
        ...(given('api') ? { apis: listed(values.api) } : {}),
        ...(given('require-mfa') ? { require_mfa: true } : {}),
        ...(given('no-require-mfa') ? { require_mfa: false } : {}),
        ...(given('backchannel-logout-uri')
          ? { backchannel_logout_uri: text(values['backchannel-logout-uri']) || null }
          : {}),
        ...graceSeconds(values['refresh-grace']),
        ...(await clientAuthFields(values)),
      };
      if (Object.keys(patch).length === 0)
        throw new AppError('invalid_input', 'nothing to change: give at least one flag');
      const updated = await updateClient(db, secrets, id, patch);
      await audit({ type: 'client.updated', clientId: id, ...CLI, details: { fields: Object.keys(patch) } });
      return updated;
    },
  },
  'clients list': { usage: 'tessera clients list', run: ({ db }) => listClientViews(db) },
  'clients show': {
    usage: 'tessera clients show CLIENT_ID',
    positionals: 1,
    run: async ({ db, positionals: [id] }) => describeClient(await requireClient(db, id ?? '')),
  },
  'clients delete': {
    usage: 'tessera clients delete CLIENT_ID',
    positionals: 1,
    async run({ db, audit, positionals: [id = ''] }) {
      await deleteClient(db, id);
      await audit({ type: 'client.deleted', clientId: id, ...CLI });
      return { client_id: id, deleted: true };
    },
  },
  'clients rotate-secret': {
    usage: 'tessera clients rotate-secret CLIENT_ID',
    positionals: 1,
    async run({ db, secrets, audit, positionals: [id = ''] }) {
      const rotated = await rotateClientSecret(db, secrets, id);
      await audit({ type: 'client.secret_rotated', clientId: id, ...CLI });
      return rotated;
    },
  },

  'apis create': {
    usage: 'tessera apis create --audience URL [--scope S]… [--name N] [--access-token-ttl SECONDS]',
    options: {
      audience: { type: 'string' },
      scope: { type: 'string', multiple: true },
      name: { type: 'string' },
      'access-token-ttl': { type: 'string' },
    },
    async run({ db, audit, values }) {
      const ttl = text(values['access-token-ttl']);
      if (ttl !== undefined && !/^\d+$/.test(ttl))
        throw new AppError('invalid_input', '--access-token-ttl must be a number of seconds');
      const api = await createApi(db, {
        audience: text(values.audience) ?? '',
        scopes: list(values.scope),
        ...(text(values.name) ? { name: text(values.name) } : {}),
        ...(ttl ? { access_token_ttl: Number(ttl) } : {}),
      });
      await audit({ type: 'api.created', ...CLI, details: { audience: api.audience } });
      return api;
    },
  },
  'apis list': { usage: 'tessera apis list', run: ({ db }) => listApis(db) },

  'users create': {
    usage: 'tessera users create --email E [--username U] [--name N] [--role R]… --password-stdin',
    options: {
      email: { type: 'string' },
      username: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      'password-stdin': { type: 'boolean' },
    },
    async run({ db, audit, values, readStdin }) {
      if (!values['password-stdin']) {
        throw new AppError('invalid_input', '--password-stdin is required (the password is read from standard input)');
      }
      const user = await createUser(db, {
        email: text(values.email) ?? '',
        ...(text(values.username) ? { username: text(values.username) } : {}),
        ...(text(values.name) ? { name: text(values.name) } : {}),
        password: (await readStdin()).replace(/\r?\n$/, ''),
        roles: list(values.role),
      });
      await audit({ type: 'user.created', userId: user.id, ...CLI, details: { roles: user.roles } });
      return user;
    },
  },
  'users set-roles': {
    usage: 'tessera users set-roles USER_ID [ROLE]…',
    positionals: -1,
    async run({ db, audit, positionals: [id = '', ...roles] }) {
      const user = await setRolesOfUser(db, id, roles);
      await audit({ type: 'user.roles_changed', userId: id, ...CLI, details: { roles: user.roles } });
      return user;
    },
  },
  'users disable': {
    usage: 'tessera users disable USER_ID',
    positionals: 1,
    async run({ db, audit, positionals: [id = ''] }) {
      const revoked = await disableUser(db, id);
      await audit({ type: 'user.disabled', userId: id, ...CLI, details: { revoked } });
      return { id, disabled: true };
    },
  },

  'roles create': {
    usage: 'tessera roles create NAME [--description D] [--requires-mfa]',
    options: { description: { type: 'string' }, 'requires-mfa': { type: 'boolean' } },
    positionals: 1,
    async run({ db, audit, values, positionals: [name = ''] }) {
      const role = await createRole(db, {
        name,
        ...(text(values.description) ? { description: text(values.description) } : {}),
        requires_mfa: values['requires-mfa'] === true,
      });
      await audit({ type: 'role.created', ...CLI, details: { role: role.name } });
      return role;
    },
  },
  'roles list': { usage: 'tessera roles list', run: ({ db }) => listRoles(db) },

  'api-keys create': {
    usage: 'tessera api-keys create --name N [--role R]… [--expires-in D]   (D: 90d, 12h, 30m, 3600s)',
    options: {
      name: { type: 'string' },
      role: { type: 'string', multiple: true },
      'expires-in': { type: 'string' },
    },
    async run({ db, audit, values }) {
      const expiresIn = text(values['expires-in']);
      const created = await createApiKey(
        db,
        { name: text(values.name) ?? '', roles: list(values.role), ...(expiresIn ? { expires_in: expiresIn } : {}) },
        'cli',
      );
      await audit({ type: 'api_key.created', ...CLI, details: { id: created.id, roles: created.roles } });
      return created;
    },
  },
  'api-keys list': { usage: 'tessera api-keys list', run: ({ db }) => listApiKeys(db) },
  'api-keys revoke': {
    usage: 'tessera api-keys revoke ID',
    positionals: 1,
    async run({ db, audit, positionals: [id = ''] }) {
      const revoked = await revokeApiKey(db, id);
      await audit({ type: 'api_key.revoked', ...CLI, details: { id } });
      return revoked;
    },
  },

  'audit verify': {
    usage: 'tessera audit verify',
    // A broken chain is a failure: exit 1, the first broken event's id and what is wrong on stderr.
    async run({ db }) {
      const verdict = await verifyAuditChain(db);
      if (!verdict.intact) {
        throw new AppError('audit_chain_broken', `audit chain broken at event ${verdict.id}: ${verdict.problem}`);
      }
      return verdict;
    },
  },

  'keys rotate': {
    usage:
      'tessera keys rotate [--now]   (new keys sign after KEY_PUBLISH_DELAY, default 10 minutes; --now: at once, for emergencies)',
    options: { now: { type: 'boolean' } },
    async run({ db, config, secrets, audit, values }) {
      const now = values.now === true;
      const keys = await rotateSigningKeys(db, secrets, { publishDelayMs: now ? 0 : config.keyPublishDelayMs });
      await audit({ type: 'keys.rotated', ...CLI, details: { kids: keys.map((k) => k.kid), now } });
      return { keys };
    },
  },
};
