import { connectionInput, connectionPatch } from '../connections/connections.ts';
import { type FieldText, formFields } from './schema-form.ts';

/**
 * The connection form: every field of the connection input schema, in its order, with its label
 * and hint here. The client secret goes into a password box and is never shown back.
 */
const TEXTS: Record<string, FieldText> = {
  type: { label: 'Type' },
  name: { label: 'Name', hint: 'The sign-in button says “Continue with NAME”.' },
  issuer: {
    label: 'Issuer',
    hint: 'The upstream’s issuer URL; it must answer OpenID Connect discovery now.',
    onlyFor: ['oidc'],
  },
  base_url: {
    label: 'GitHub URL',
    hint: 'Empty: https://github.com. For GitHub Enterprise, its URL.',
    onlyFor: ['github'],
  },
  api_url: { label: 'GitHub API URL', hint: 'Empty: https://api.github.com.', onlyFor: ['github'] },
  client_id: { label: 'Client id', hint: 'The id the upstream gave Tessera.' },
  client_secret: { label: 'Client secret', hint: 'Stored encrypted and never shown again.', secret: true },
  scopes: {
    label: 'Scopes',
    hint: 'One per line, asked for besides openid; empty for the usual ones.',
    onlyFor: ['oidc'],
  },
  domains: {
    label: 'Domains',
    hint: 'One per line: people whose address is in one go to this upstream by themselves.',
  },
  trust_upstream_mfa: { label: 'Trust the upstream’s two-step verification (its amr or acr counts here)' },
  enabled: { label: 'Enabled: its button shows on the sign-in page' },
};

export const CONNECTION_TYPES: Record<string, string> = {
  oidc: 'OpenID Connect provider: a company’s SSO, Google, Microsoft Entra ID…',
  github: 'GitHub or GitHub Enterprise: OAuth app',
};

const all = formFields(connectionInput.shape, TEXTS);
export const CREATE_FIELDS = all.filter((f) => f.name !== 'type');
export const CONNECTION_TYPE_OPTIONS = all.find((f) => f.name === 'type')?.options ?? [];
export const UPDATE_FIELDS = formFields(connectionPatch.shape, {
  ...TEXTS,
  client_secret: {
    ...TEXTS.client_secret,
    label: 'New client secret',
    hint: 'Empty keeps the stored one.',
    secret: true,
  },
});
