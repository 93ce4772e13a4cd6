import type { Context } from 'koa';
import { seenIn } from '../audit/audit.ts';
import {
  clientNameOf,
  finishInteraction,
  type Interaction,
  type InteractionDeps,
  loadInteraction,
} from './interaction.ts';

/** The `consent` prompt: what the client asks for, in words, and one button to allow it. */

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

export async function showConsent(ctx: Context, deps: InteractionDeps, interaction: Interaction) {
  const details = interaction.prompt.details as ConsentDetails;
  const permissions = [
    ...(details.missingOIDCScope ?? []).map((s) => DESCRIPTIONS[s] ?? s),
    ...Object.entries(details.missingResourceScopes ?? {}).flatMap(([api, scopes]) =>
      scopes.length ? scopes.map((s) => `Use ${api} with permission “${s}”`) : [`Use ${api}`],
    ),
  ];
  deps.page(ctx, 'consent', {
    title: 'Allow access',
    uid: interaction.uid,
    clientName: await clientNameOf(deps, interaction),
    permissions: permissions.length ? permissions : ['Know who you are'],
  });
}

export async function submitConsent(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, ['consent']);
  const { Grant } = deps.provider();
  const accountId = interaction.session?.accountId;
  const clientId = String(interaction.params.client_id);
  const grant =
    (interaction.grantId ? await Grant.find(interaction.grantId) : undefined) ?? new Grant({ accountId, clientId });
  const details = interaction.prompt.details as ConsentDetails;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await deps.audit({
    type: 'consent.granted',
    userId: accountId,
    clientId,
    ...seenIn(ctx),
    details: { scopes: details.missingOIDCScope ?? [], resources: Object.keys(details.missingResourceScopes ?? {}) },
  });
  await finishInteraction(ctx, deps, { consent: interaction.grantId ? {} : { grantId } }, true);
}
