import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { artifactKey } from '../../adapters/artifact-key.ts';
import type { Db } from '../../db/database.ts';
import type { Audit } from '../audit/audit.ts';
import { seenIn } from '../audit/audit.ts';
import { privateDestinationIn } from '../oidc/private-destinations.ts';
import { SINGLE_USE_POLICY, spendRegistrationToken } from './registration-tokens.ts';

/**
 * What oidc-provider runs on a dynamic registration (its registration `policies`), in order:
 * the metadata is validated as the provider will, then checked for private destinations (SSRF),
 * and only then the initial access token is spent: a registration refused for its metadata
 * leaves the token usable, and of many registrations presenting one token at once, one wins.
 * The registration access token handed back carries only the destination policy, which then
 * runs on every update (RFC 7592), so a client cannot move its URIs inside later.
 */
export const PUBLIC_DESTINATIONS_POLICY = 'tessera-public-destinations';

type Metadata = Record<string, unknown>;

function refusePrivateDestinations(metadata: Metadata) {
  const field = privateDestinationIn(metadata);
  if (field) throw refusal(field, `${field} must not point to a private, loopback or local address`);
  // Codes and logouts go to these in the browser: over plain http anyone on the way could read them.
  for (const key of ['redirect_uris', 'post_logout_redirect_uris']) {
    const uris = Array.isArray(metadata[key]) ? (metadata[key] as unknown[]) : [];
    if (uris.some((uri) => typeof uri === 'string' && URL.parse(uri)?.protocol === 'http:')) {
      throw refusal(key, `${key} must use https`);
    }
  }
}

// RFC 7591 §3.2.2 names its own error for redirect URIs; the library's has a fixed description.
function refusal(field: string, message: string) {
  if (field !== 'redirect_uris') return new errors.InvalidClientMetadata(message);
  return Object.assign(new errors.InvalidRedirectUri(), { error_description: message });
}

export function registrationPolicies(db: Db, audit: Audit) {
  return {
    [SINGLE_USE_POLICY]: async (ctx: KoaContextWithOIDC, metadata: Metadata) => {
      const { Client } = ctx.oidc.provider as unknown as { Client: { validate(m: Metadata): Promise<void> } };
      await Client.validate(metadata);
      refusePrivateDestinations(metadata);
      const token = ctx.oidc.entities.InitialAccessToken?.jti;
      if (!token || !(await spendRegistrationToken(db, token))) {
        throw new errors.InvalidToken('initial access token was already used or has expired');
      }
      const rat = ctx.oidc.entities.RegistrationAccessToken;
      if (rat) rat.policies = [PUBLIC_DESTINATIONS_POLICY];
      await audit({
        type: 'registration_token.used',
        clientId: String(metadata.client_id),
        ...seenIn(ctx),
        details: { id: artifactKey(token) },
      });
    },
    [PUBLIC_DESTINATIONS_POLICY]: async (_ctx: KoaContextWithOIDC, metadata: Metadata) =>
      refusePrivateDestinations(metadata),
  };
}
