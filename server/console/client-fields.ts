import { clientInput, clientPatch } from '../clients/clients.ts';
import { type FieldText, formFields } from './schema-form.ts';

/**
 * The client form: every field of the client input schema, in its order. A field added there
 * shows up by itself; its label and hint (and the client types it applies to) belong here.
 */
const REDIRECTING = ['web', 'spa'];
const CONFIDENTIAL = ['web', 'machine'];

const TEXTS: Record<string, FieldText> = {
  name: { label: 'Name', hint: 'Shown to people on the consent page.' },
  type: { label: 'Type' },
  redirect_uris: {
    label: 'Redirect URIs',
    hint: 'One per line; https, or http on localhost.',
    onlyFor: REDIRECTING,
  },
  post_logout_redirect_uris: {
    label: 'Post-logout redirect URIs',
    hint: 'One per line; where the app may send people after they sign out.',
    onlyFor: REDIRECTING,
  },
  scopes: { label: 'Scopes', hint: 'One per line. Empty: the OpenID scopes for an app, none for a machine.' },
  roles: { label: 'Roles', hint: 'One per line; a machine client’s tokens carry them.' },
  apis: { label: 'APIs', hint: 'One audience URL per line: the APIs this client may get access tokens for.' },
  require_mfa: { label: 'Require two-step verification for everyone who signs in to it', onlyFor: REDIRECTING },
  backchannel_logout_uri: {
    label: 'Back-channel logout URI',
    hint: 'Where a signed logout token is posted when a session ends; empty for none.',
    onlyFor: REDIRECTING,
  },
  refresh_grace_seconds: {
    label: 'Refresh grace window (seconds)',
    hint: 'A rotated refresh token presented again within it returns the same successor (two tabs); 0 turns it off.',
    onlyFor: ['web', 'spa', 'device'],
  },
  token_endpoint_auth_method: {
    label: 'Client authentication',
    hint: 'A secret (Basic or in the body) or a JWT signed with the client’s key; spa and device clients use none.',
    onlyFor: CONFIDENTIAL,
  },
  jwks_uri: {
    label: 'JWKS URI',
    hint: 'For private_key_jwt: where the client publishes its public keys (inline keys: CLI or admin API).',
    onlyFor: CONFIDENTIAL,
  },
  require_dpop: { label: 'Require DPoP-bound access tokens' },
  require_par: { label: 'Require pushed authorization requests (PAR)', onlyFor: REDIRECTING },
};

/** Set through the CLI or the admin API only: a JWK set does not fit a text box. */
const NOT_IN_FORM = new Set(['jwks']);
const inForm = (f: { name: string }) => !NOT_IN_FORM.has(f.name);

export const CLIENT_TYPES: Record<string, string> = {
  web: 'Web app: a server with a secret, code flow',
  spa: 'Single-page or native app: public, code flow with PKCE',
  machine: 'Machine: client credentials, no people',
  device: 'Device: a TV or command line, device flow (RFC 8628), public',
};

export const CREATE_FIELDS = formFields(clientInput.in.shape, TEXTS).filter((f) => f.name !== 'type' && inForm(f));
export const UPDATE_FIELDS = formFields(clientPatch.shape, TEXTS).filter(inForm);
export const CLIENT_TYPE_OPTIONS =
  formFields(clientInput.in.shape, TEXTS).find((f) => f.name === 'type')?.options ?? [];
