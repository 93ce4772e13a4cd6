import { clientInput, clientPatch } from '../clients/clients.ts';
import { type FieldText, formFields } from './schema-form.ts';

/**
 * The client form: every field of the client input schema, in its order. A field added there
 * shows up by itself; its label and hint (and the client types it applies to) belong here.
 */
const REDIRECTING = ['web', 'spa'];

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
};

export const CLIENT_TYPES: Record<string, string> = {
  web: 'Web app: a server with a secret, code flow',
  spa: 'Single-page or native app: public, code flow with PKCE',
  machine: 'Machine: client credentials, no people',
};

export const CREATE_FIELDS = formFields(clientInput.shape, TEXTS).filter((f) => f.name !== 'type');
export const UPDATE_FIELDS = formFields(clientPatch.shape, TEXTS);
export const CLIENT_TYPE_OPTIONS = formFields(clientInput.shape, TEXTS).find((f) => f.name === 'type')?.options ?? [];
