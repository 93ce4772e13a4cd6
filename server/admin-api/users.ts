import { z } from 'zod';
import { revokeEverythingOf } from '../../adapters/account-artifacts.ts';
import { type Db, inTransaction } from '../../db/database.ts';
import {
  findUserByLogin,
  findUserWithRoles,
  listUsersPage,
  setUserDisabled,
  updateUser,
} from '../../db/repositories/users.ts';
import { queueResetMail } from '../accounts/account-mail.ts';
import { invitationInput, inviteUser } from '../accounts/invitations.ts';
import {
  createUser,
  deleteUserAndSessions,
  describeUser,
  disableUser,
  setRolesOfUser,
  userInput,
} from '../accounts/users.ts';
import { AppError, conflictOnDuplicate } from '../errors.ts';
import { hasTotp, removeMfa } from '../mfa/factors.ts';
import { roleName } from '../roles/roles.ts';
import { endpoint } from './endpoint.ts';
import { keepingAnAdmin } from './last-admin.ts';
import { idParam, paged, pageQuery } from './shapes.ts';

/**
 * Users as operators manage them. Disabling or deleting a user also ends their sessions and
 * grants, so a removed account cannot keep using tokens it already holds; so does resetting their
 * two-step verification, since whoever holds a session may be the reason for the reset.
 */
const user = z
  .object({
    id: z.string(),
    email: z.string(),
    email_verified: z.boolean(),
    username: z.string().nullable(),
    name: z.string().nullable(),
    roles: z.array(z.string()),
    disabled: z.boolean(),
    created_at: z.string(),
  })
  .meta({ id: 'User' });
const tag = 'users';

const userPatch = z.object({
  name: userInput.shape.name.unwrap().nullable().optional(),
  username: userInput.shape.username.unwrap().nullable().optional(),
  email_verified: z.boolean().optional(),
});

async function requireUser(db: Db, id: string) {
  const found = await findUserWithRoles(db, id);
  if (!found) throw new AppError('not_found', `user ${id} does not exist`);
  return describeUser(found, found.roles);
}

export const userEndpoints = [
  endpoint({
    method: 'get',
    path: '/users',
    tag,
    summary: 'List users; `q` matches part of an email, username or name',
    query: pageQuery.extend({ q: z.string().trim().max(254).optional() }),
    response: paged(user),
    async handle({ query, deps }) {
      const { rows, total } = await listUsersPage(deps.db, query);
      return { items: rows.map((r) => describeUser(r, r.roles)), total, limit: query.limit, offset: query.offset };
    },
  }),
  endpoint({
    method: 'post',
    path: '/users',
    tag,
    summary: 'Create a user (their email counts as verified)',
    body: userInput,
    status: 201,
    location: (created) => `/users/${created.id}`,
    response: user,
    async handle({ body, deps, actor }) {
      const created = await createUser(deps.db, body).catch(
        conflictOnDuplicate('a user with that email or username already exists'),
      );
      await deps.audit({ type: 'user.created', actor, userId: created.id, details: { roles: created.roles } });
      return created;
    },
  }),
  endpoint({
    method: 'post',
    path: '/users/invitations',
    tag,
    summary: 'Invite a user: an account without a password, and a mail with a single-use link to choose one',
    body: invitationInput,
    status: 201,
    location: (created) => `/users/${created.id}`,
    response: user,
    async handle({ body, deps, actor }) {
      const created = await inviteUser(deps.db, body).catch(
        conflictOnDuplicate('a user with that email or username already exists'),
      );
      await deps.audit({ type: 'user.invited', actor, userId: created.id, details: { roles: created.roles } });
      return created;
    },
  }),
  endpoint({
    method: 'get',
    path: '/users/{id}',
    tag,
    summary: 'Get a user',
    params: idParam,
    response: user,
    handle: ({ params, deps }) => requireUser(deps.db, params.id),
  }),
  endpoint({
    method: 'patch',
    path: '/users/{id}',
    tag,
    summary: 'Change a user’s name, username or email verification',
    params: idParam,
    body: userPatch,
    response: user,
    async handle({ params, body, deps, actor }) {
      const before = await requireUser(deps.db, params.id);
      // A username cannot hold '@', so this finds usernames only.
      const holder = body.username ? await findUserByLogin(deps.db, body.username) : undefined;
      if (holder && holder.id !== params.id) throw new AppError('conflict', 'a user with that username already exists');
      await updateUser(deps.db, params.id, body).catch(conflictOnDuplicate('a user with that username already exists'));
      const after = await requireUser(deps.db, params.id);
      const fields = Object.keys(body) as (keyof typeof body)[];
      await deps.audit({
        type: 'user.updated',
        actor,
        userId: params.id,
        details: {
          before: Object.fromEntries(fields.map((f) => [f, before[f]])),
          after: Object.fromEntries(fields.map((f) => [f, after[f]])),
        },
      });
      return after;
    },
  }),
  endpoint({
    method: 'post',
    path: '/users/{id}/disable',
    tag,
    summary: 'Disable a user and end their sessions',
    params: idParam,
    response: user,
    async handle({ params, deps, actor }) {
      const revoked = await keepingAnAdmin(deps.db, (trx) => disableUser(trx, params.id));
      await deps.audit({ type: 'user.disabled', actor, userId: params.id, details: { revoked } });
      return requireUser(deps.db, params.id);
    },
  }),
  endpoint({
    method: 'post',
    path: '/users/{id}/enable',
    tag,
    summary: 'Enable a disabled user',
    params: idParam,
    response: user,
    async handle({ params, deps, actor }) {
      if (!(await setUserDisabled(deps.db, params.id, false))) {
        throw new AppError('not_found', `user ${params.id} does not exist`);
      }
      await deps.audit({ type: 'user.enabled', actor, userId: params.id, details: {} });
      return requireUser(deps.db, params.id);
    },
  }),
  endpoint({
    method: 'delete',
    path: '/users/{id}',
    tag,
    summary: 'Delete a user and end their sessions',
    params: idParam,
    status: 204,
    async handle({ params, deps, actor }) {
      const found = await requireUser(deps.db, params.id);
      const revoked = await keepingAnAdmin(deps.db, (trx) => deleteUserAndSessions(trx, params.id));
      await deps.audit({ type: 'user.deleted', actor, userId: params.id, details: { roles: found.roles, revoked } });
    },
  }),
  endpoint({
    method: 'put',
    path: '/users/{id}/roles',
    tag,
    summary: 'Replace a user’s roles',
    params: idParam,
    body: z.object({ roles: z.array(roleName).max(100) }),
    response: user,
    async handle({ params, body, deps, actor }) {
      const before = await requireUser(deps.db, params.id);
      const after = await keepingAnAdmin(deps.db, (trx) => setRolesOfUser(trx, params.id, body.roles));
      await deps.audit({
        type: 'user.roles_changed',
        actor,
        userId: params.id,
        details: { before: before.roles, after: after.roles },
      });
      return after;
    },
  }),
  endpoint({
    method: 'post',
    path: '/users/{id}/revoke-sessions',
    tag,
    summary: 'End a user’s sessions and revoke their grants and tokens',
    params: idParam,
    response: z.object({ revoked: z.number().int() }),
    async handle({ params, deps, actor }) {
      await requireUser(deps.db, params.id);
      const revoked = await revokeEverythingOf(deps.db, params.id);
      await deps.audit({ type: 'user.sessions_revoked', actor, userId: params.id, details: { revoked } });
      return { revoked };
    },
  }),
  endpoint({
    method: 'post',
    path: '/users/{id}/reset-password-mail',
    tag,
    summary: 'Mail the user a link to choose a new password (nothing is sent to a disabled user)',
    params: idParam,
    status: 202,
    response: z.object({ queued: z.literal(true) }),
    async handle({ params, deps, actor }) {
      const found = await requireUser(deps.db, params.id);
      await queueResetMail(deps.db, found.email);
      await deps.audit({ type: 'password.reset_mailed', actor, userId: params.id, details: {} });
      return { queued: true };
    },
  }),
  endpoint({
    method: 'post',
    path: '/users/{id}/mfa/reset',
    tag,
    summary: 'Remove a user’s two-step verification and recovery codes, and end their sessions',
    params: idParam,
    response: user,
    async handle({ params, deps, actor }) {
      await requireUser(deps.db, params.id);
      const hadTotp = await hasTotp(deps.db, params.id);
      const revoked = await inTransaction(deps.db, async (trx) => {
        await removeMfa(trx, params.id);
        return revokeEverythingOf(trx, params.id);
      });
      await deps.audit({ type: 'mfa.reset', actor, userId: params.id, details: { had_totp: hadTotp, revoked } });
      return requireUser(deps.db, params.id);
    },
  }),
];
