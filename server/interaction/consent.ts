import type { Context } from 'koa';
import { seenIn } from '../audit/audit.ts';
import { allowedOidcScopes } from '../clients/clients.ts';
import { recordApiConsent } from '../oidc/api-consent.ts';
import { SCOPE_CLAIMS } from '../oidc/scopes.ts';
import {
  clientNameOf,
  finishInteraction,
  type Interaction,
  type InteractionDeps,
  loadInteraction,
} from './interaction.ts';

/**
 * The `consent` prompt: what the client will receive, in words, and one button to allow it.
 * - The page names every API the client asked a token for, and each of its scopes; the grant
 *   records each API consented to (api-consent.ts), so an API new to the grant asks again.
 * - OpenID scopes (and `claims` requests) the client may not have are rejected on the grant,
 *   not granted: the request is narrowed (RFC 6749 §3.3), the page never offers them, and the
 *   token response's `scope` names what was granted.
 * APIs the client was not granted never get here: /auth refuses them with invalid_target.
 */

const DESCRIPTIONS: Record<string, string> = {
  openid: 'Know who you are',
  profile: 'See your name and username',
  email: 'See your email address',
  roles: 'See the roles you hold',
  offline_access: 'Stay signed in when you are away',
};

interface ConsentDetails {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

interface ConsentPlan {
  scopes: string[];
  rejectedScopes: string[];
  claims: string[];
  rejectedClaims: string[];
  apis: { audience: string; name: string | undefined; scopes: string[] }[];
}

/** What this consent grants and rejects, from the prompt's details and what the client may have. */
async function planConsent(deps: InteractionDeps, interaction: Interaction): Promise<ConsentPlan> {
  const details = interaction.prompt.details as ConsentDetails;
  const client = await deps.catalog.findClient(String(interaction.params.client_id));
  // The built-in account client is not in the clients table; it asks for openid only.
  const allowed = client ? allowedOidcScopes(client) : ['openid'];
  const allowedClaims = allowed.flatMap((s) => SCOPE_CLAIMS[s] ?? []);
  const missingScopes = details.missingOIDCScope ?? [];
  const missingClaims = details.missingOIDCClaims ?? [];
  const requested = interaction.params.resource;
  const audiences = [requested ?? []].flat().map(String);
  const apis = await Promise.all(
    audiences.map(async (audience) => ({
      audience,
      name: (await deps.catalog.findApi(audience))?.name ?? undefined,
      scopes: details.missingResourceScopes?.[audience] ?? [],
    })),
  );
  return {
    scopes: missingScopes.filter((s) => allowed.includes(s)),
    rejectedScopes: missingScopes.filter((s) => !allowed.includes(s)),
    claims: missingClaims.filter((c) => allowedClaims.includes(c)),
    rejectedClaims: missingClaims.filter((c) => !allowedClaims.includes(c)),
    apis,
  };
}

export async function showConsent(ctx: Context, deps: InteractionDeps, interaction: Interaction) {
  const plan = await planConsent(deps, interaction);
  const permissions = [
    ...plan.scopes.map((s) => DESCRIPTIONS[s] ?? s),
    ...plan.claims.map((c) => `See your ${c.replaceAll('_', ' ')}`),
  ];
  deps.page(ctx, 'consent', {
    title: 'Allow access',
    uid: interaction.uid,
    clientName: await clientNameOf(deps, interaction),
    permissions: permissions.length || plan.apis.length ? permissions : ['Know who you are'],
    apis: plan.apis,
  });
}

export async function submitConsent(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, ['consent']);
  const { Grant } = deps.provider();
  const accountId = interaction.session?.accountId;
  const clientId = String(interaction.params.client_id);
  const grant =
    (interaction.grantId ? await Grant.find(interaction.grantId) : undefined) ?? new Grant({ accountId, clientId });
  const plan = await planConsent(deps, interaction);
  if (plan.scopes.length) grant.addOIDCScope(plan.scopes.join(' '));
  if (plan.rejectedScopes.length) grant.rejectOIDCScope(plan.rejectedScopes.join(' '));
  if (plan.claims.length) grant.addOIDCClaims(plan.claims);
  if (plan.rejectedClaims.length) grant.rejectOIDCClaims(plan.rejectedClaims);
  for (const api of plan.apis) recordApiConsent(grant, api.audience, api.scopes);
  const grantId = await grant.save();
  await deps.audit({
    type: 'consent.granted',
    userId: accountId,
    clientId,
    ...seenIn(ctx),
    details: {
      scopes: plan.scopes,
      rejected_scopes: plan.rejectedScopes,
      resources: plan.apis.map((a) => a.audience),
    },
  });
  await finishInteraction(ctx, deps, { consent: interaction.grantId ? {} : { grantId } }, true);
}
