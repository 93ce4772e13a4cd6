import type { JWK } from 'jose';
import { z } from 'zod';
import type { ClientAuthMethod, ClientType } from '../../db/schema.ts';

/**
 * How a client authenticates at the token endpoint, and the rules that hold on create and after
 * every update: spa and device clients are public (`none`); web and machine clients use their secret
 * (client_secret_basic by default, or client_secret_post) or a JWT signed by their own key
 * (private_key_jwt), whose public keys are at a `jwks_uri` or kept inline in `jwks`, never both.
 * A private key is refused: it would hand the client's identity to whoever reads the database.
 */
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;

/** The methods that need a secret; a client switched to one gets a secret if it has none. */
export const SECRET_METHODS: ReadonlySet<string> = new Set(['client_secret_basic', 'client_secret_post']);

const publicJwk = z
  .looseObject({ kty: z.string({ error: 'each key needs a kty' }) })
  .refine((k) => !['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((m) => m in k), 'keys must be public keys only');

export const jwkSet = z.object({ keys: z.array(publicJwk).min(1, 'needs at least one key').max(20) });

export interface AuthShape {
  type: ClientType;
  token_endpoint_auth_method: ClientAuthMethod;
  jwks_uri: string | null;
  jwks: { keys: JWK[] } | null;
  require_par: boolean;
}

/** Clients that run where a secret cannot be kept (a browser, a device): they authenticate with none. */
export const PUBLIC_TYPES: ReadonlySet<ClientType> = new Set(['spa', 'device']);

/** What is wrong with how this client would authenticate, if anything. */
export function authRule(c: AuthShape): string | undefined {
  const method = c.token_endpoint_auth_method;
  const isPublic = PUBLIC_TYPES.has(c.type);
  if (isPublic && method !== 'none') return `token_endpoint_auth_method: a ${c.type} client is public: none`;
  if (!isPublic && method === 'none') return `token_endpoint_auth_method: a ${c.type} client must authenticate`;
  if (method === 'private_key_jwt' && !c.jwks_uri === !c.jwks) {
    return 'jwks_uri: a private_key_jwt client needs its keys, as jwks_uri or jwks (one of the two)';
  }
  if (method !== 'private_key_jwt' && (c.jwks_uri || c.jwks)) return 'jwks_uri: keys are for private_key_jwt clients';
  if (c.type === 'machine' && c.require_par) return 'require_par: machine clients make no authorization requests';
  return undefined;
}

export const defaultAuthMethod = (type: ClientType): ClientAuthMethod =>
  PUBLIC_TYPES.has(type) ? 'none' : 'client_secret_basic';

/** The method a stored client uses: its own, or its type's default. */
export function authMethodOf(row: { type: ClientType; token_endpoint_auth_method: ClientAuthMethod | null }) {
  return row.token_endpoint_auth_method ?? defaultAuthMethod(row.type);
}
