import type { Context } from 'koa';
import { authenticate } from '../accounts/users.ts';
import { AppError } from '../errors.ts';
import {
  clientNameOf,
  finishInteraction,
  formField,
  type Interaction,
  type InteractionDeps,
  loadInteraction,
} from './interaction.ts';

/** The `login` prompt: email or username and password. */
export async function showLogin(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  status = 200,
  error?: string,
) {
  deps.page(
    ctx,
    'login',
    {
      title: 'Sign in',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      login: formField(ctx, 'login') || interaction.params.login_hint,
      error,
    },
    status,
  );
}

export async function submitLogin(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, 'login');
  const login = formField(ctx, 'login').trim();
  const password = formField(ctx, 'password');
  if (!login || !password) {
    return showLogin(ctx, deps, interaction, 400, 'Enter your email or username and your password.');
  }
  const clientId = String(interaction.params.client_id);
  const seen = { clientId, ip: ctx.ip, userAgent: ctx.get('user-agent') };
  let user: Awaited<ReturnType<typeof authenticate>>;
  try {
    user = await authenticate(deps.db, login, password);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    await deps.audit({ type: 'login.failed', ...seen, details: { reason: err.code } });
    return showLogin(ctx, deps, interaction, err.status, err.message);
  }
  await deps.audit({ type: 'login.succeeded', userId: user.id, ...seen, details: { amr: ['pwd'] } });
  await finishInteraction(ctx, deps, { login: { accountId: user.id, amr: ['pwd'] } }, false);
}
