import type { Context } from 'koa';
import { errors, type InteractionResults, type Provider } from 'oidc-provider';
import type { Db } from '../../db/database.ts';
import type { MailDeps } from '../accounts/account-mail.ts';
import type { Audit } from '../audit/audit.ts';
import type { Catalog } from '../catalog.ts';
import type { Upstreams } from '../connections/upstreams.ts';
import type { GitHubFlowDeps } from '../federation/github-flow.ts';
import type { Page } from '../http/pages.ts';
import type { RateLimiter } from '../rate-limit/rate-limits.ts';

/** What every interaction step needs. */
export interface InteractionDeps extends MailDeps, GitHubFlowDeps {
  db: Db;
  /** Clients and APIs as every request reads them, cached. */
  catalog: Pick<Catalog, 'findClient' | 'findApi'>;
  audit: Audit;
  page: Page;
  rateLimiter: RateLimiter;
  provider: () => Provider;
  upstreams: Upstreams;
}

export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

// The interaction each request loaded, so handing a result back saves it instead of reading it
// (and its session) from the database again, as the library's interactionResult would.
const loaded = new WeakMap<Context, Interaction>();

/** The prompts a sign-in step serves: `login`, and `create` when the person started at sign-up. */
export const SIGN_IN_PROMPTS = ['login', 'create'];

/** The way back from a sign-in's failure page. */
export const backToLogin = (uid: string) => ({ href: `/interaction/${uid}/login`, text: 'Back to sign in' });

/**
 * The interaction this request continues, checked against the uid in the URL and, when a step
 * names them, the prompts it serves: a form posted to the wrong step is refused, not obeyed.
 */
export async function loadInteraction(ctx: Context, deps: InteractionDeps, prompts?: string[]): Promise<Interaction> {
  const interaction = await deps.provider().interactionDetails(ctx.req, ctx.res);
  if (interaction.uid !== ctx.params.uid) throw new errors.SessionNotFound('interaction uid mismatch');
  if (prompts && !prompts.includes(interaction.prompt.name)) {
    throw new errors.InvalidRequest(`this step is not expected now (expected ${interaction.prompt.name})`);
  }
  loaded.set(ctx, interaction);
  return interaction;
}

export async function clientNameOf(deps: InteractionDeps, interaction: Interaction): Promise<string> {
  const client = await deps.provider().Client.find(String(interaction.params.client_id));
  return client?.clientName ?? 'the application';
}

/** Hands the result back to the provider, which sends the browser on with the authorization. */
export async function finishInteraction(
  ctx: Context,
  deps: InteractionDeps,
  result: InteractionResults,
  mergeWithLastSubmission: boolean,
): Promise<void> {
  const returnTo = await saveResult(ctx, deps, result, mergeWithLastSubmission);
  ctx.status = 303;
  ctx.redirect(returnTo);
}

/** Keeps state on the interaction (bound to its cookie) without finishing it. */
export async function rememberOnInteraction(ctx: Context, deps: InteractionDeps, state: InteractionResults) {
  await saveResult(ctx, deps, state, true);
}

/**
 * What the library's interactionResult does, on the interaction this request loaded when there
 * is one. The caller's copy keeps the result it was loaded with, as it did when the library read
 * a fresh copy to save; the session was checked at the load, and the resume checks it again.
 */
async function saveResult(
  ctx: Context,
  deps: InteractionDeps,
  result: InteractionResults,
  mergeWithLastSubmission: boolean,
): Promise<string> {
  const interaction = loaded.get(ctx);
  if (!interaction) {
    return deps.provider().interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission });
  }
  const before = interaction.result;
  interaction.result =
    mergeWithLastSubmission && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
  try {
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  } finally {
    interaction.result = before;
  }
  return interaction.returnTo;
}

/** A field of a posted form as a string; absent or repeated fields read as empty. */
export function formField(ctx: Context, name: string): string {
  const value = (ctx.request.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** 429 with Retry-After, and the words a person reads on the page. */
export function tooManyAttempts(ctx: Context, retryAfterSeconds: number): string {
  ctx.set('Retry-After', String(retryAfterSeconds));
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
}
