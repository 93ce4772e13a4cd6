import type { UpstreamIdentity } from './upstream.ts';

/**
 * Whether an upstream says it checked more than one factor: `amr` holding `mfa` (RFC 8176) or
 * `otp`, or an `acr` naming a multi-factor class (OpenID PAPE's, or another Tessera's). Only a
 * connection an operator marked --trust-upstream-mfa lets this stand for Tessera's own second factor.
 */
const MFA_AMR = new Set(['mfa', 'otp']);
const MFA_ACR = new Set([
  'urn:tessera:acr:mfa',
  'http://schemas.openid.net/pape/policies/2007/06/multi-factor',
  'http://schemas.openid.net/pape/policies/2007/06/multi-factor-physical',
]);

export const upstreamCheckedMfa = (identity: Pick<UpstreamIdentity, 'amr' | 'acr'>): boolean =>
  identity.amr.some((m) => MFA_AMR.has(m)) || (identity.acr !== undefined && MFA_ACR.has(identity.acr));
