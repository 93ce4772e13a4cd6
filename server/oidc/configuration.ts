import type { JWK } from 'jose';
import {
  type AdapterConstructor,
  type ClientAuthMethod,
  type ClientMetadata,
  type Configuration,
  type ErrorOut,
  errors,
  type FindAccount,
  interactionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { ResourceServerRow } from '../../db/schema.ts';
import type { CookieSigner } from '../http/cookie-signer.ts';
import { accountClient, loadExistingGrant } from './account-client.ts';
import { ACR_MFA, ACR_PASSWORD } from './acr.ts';
import { apiNotConsented } from './api-consent.ts';
import { settleClientCredentialsScope } from './client-credentials-scope.ts';
import { consoleClient } from './console-client.ts';
import { OIDC_SCOPES, SCOPE_CLAIMS } from './scopes.ts';

/**
 * Everything oidc-provider is told, in one pure function of its dependencies. What each setting
 * is for is said next to it; what Tessera adds around the library lives in the functions passed in.
 */
export interface OidcDependencies {
  issuer: string;
  https: boolean;
  /** The cookie signing keys, or a Keygrip-like signer made of them (http/cookie-signer.ts). */
  cookieKeys: string[] | CookieSigner;
  jwks: JWK[];
  adapter: AdapterConstructor;
  findAccount: FindAccount;
  /** The registered API with this audience, if any. */
  findApi: (audience: string) => Promise<ResourceServerRow | undefined>;
  /** The API scopes this client may receive for that API, or undefined when it was not granted the API. */
  grantedApiScopes: (clientId: string, api: ResourceServerRow) => Promise<string[] | undefined>;
  /** The OpenID scopes this client may receive. */
  grantedOidcScopes: (clientId: string) => Promise<string[]>;
  /** Roles carried by an access token: the user's, or for client_credentials the client's. */
  rolesFor: (
    ctx: KoaContextWithOIDC,
    subject: { accountId?: string | undefined; clientId: string },
  ) => Promise<string[]>;
  /** Whether this sign-in needs a second factor (enrolled, or demanded by client, role or acr_values). */
  mfaWanted: (ctx: KoaContextWithOIDC, accountId: string) => Promise<boolean>;
  /** Remembers which grant a JWT access token belongs to, for introspection. */
  recordJwtAccessToken: (jti: string, grantId: string, clientId: string, expiresIn: number) => Promise<void>;
  pages: {
    error: (ctx: KoaContextWithOIDC, out: { error: string; error_description?: string | undefined }) => void;
    logout: (ctx: KoaContextWithOIDC, form: string) => void;
    loggedOut: (ctx: KoaContextWithOIDC) => void;
    deviceInput: (ctx: KoaContextWithOIDC, out?: ErrorOut, err?: Error) => void;
    deviceConfirm: (ctx: KoaContextWithOIDC, clientName: string | undefined, userCode: string) => void;
    deviceSuccess: (ctx: KoaContextWithOIDC) => void;
  };
  /** Outgoing requests (jwks_uri, back-channel logout): see outgoing-fetch.ts. */
  fetch: NonNullable<Configuration['fetch']>;
  /**
   * Dynamic client registration, when turned on: the policies oidc-provider runs on registrations
   * and updates before storing a client; they throw to refuse one (registration/dynamic-registration.ts).
   */
  registration:
    | { policies: Record<string, (ctx: KoaContextWithOIDC, metadata: ClientMetadata) => Promise<void>> }
    | undefined;
}

const DAY = 24 * 3600;

/**
 * How clients authenticate, as discovery advertises it: web and machine clients with their secret
 * (HTTP Basic by default, or in the body) or a JWT signed with their own key (private_key_jwt),
 * spa clients (public) with none. Only methods a registered client can actually use are listed.
 */
const CLIENT_AUTH_METHODS: ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
];
/** The algorithms a private_key_jwt client may sign with: no HMAC, as no client signs with its secret. */
const CLIENT_AUTH_SIGNING_ALGS = ['ES256', 'PS256', 'RS256', 'Ed25519', 'EdDSA'] as const;

/**
 * The library's prompts, with `create` first: a client sending prompt=create (OpenID Connect
 * Initiating User Registration) gets the sign-up page; the step that finishes resolves it. The
 * login prompt also asks again when the session's login had no second factor and this sign-in
 * needs one (step-up). The consent prompt also asks for every API not consented to yet.
 */
function tesseraPrompts(mfaWanted: OidcDependencies['mfaWanted']) {
  const policy = interactionPolicy.base();
  policy.add(new interactionPolicy.Prompt({ name: 'create', requestable: true }), 0);
  policy.get('login')?.checks.add(
    new interactionPolicy.Check('mfa_required', 'a second factor is required', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      if (!accountId || ctx.oidc.acr === ACR_MFA) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return (await mfaWanted(ctx, accountId))
        ? interactionPolicy.Check.REQUEST_PROMPT
        : interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  policy.get('consent')?.checks.add(apiNotConsented);
  return policy;
}

export function oidcConfiguration(d: OidcDependencies): Configuration {
  const cookie = { signed: true, httpOnly: true, sameSite: 'lax', secure: d.https } as const;
  return {
    adapter: d.adapter,
    findAccount: d.findAccount,
    clients: [accountClient(d.issuer), consoleClient(d.issuer)],
    acrValues: [ACR_PASSWORD, ACR_MFA],
    loadExistingGrant,
    jwks: { keys: d.jwks as Configuration['jwks'] extends { keys: infer K } | undefined ? K : never },
    cookies: { keys: d.cookieKeys, long: cookie, short: cookie },
    responseTypes: ['code'],
    scopes: OIDC_SCOPES,
    claims: SCOPE_CLAIMS,
    clientAuthMethods: CLIENT_AUTH_METHODS,
    enabledJWA: { clientAuthSigningAlgValues: CLIENT_AUTH_SIGNING_ALGS },
    discovery: {
      claim_types_supported: ['normal'],
      introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
      revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    },
    // ID tokens carry the scope's claims even when an access token for userinfo is issued too.
    conformIdTokenClaims: false,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    // Browsers may call the token and userinfo endpoints only from a spa client's own origins.
    clientBasedCORS: (_ctx, origin, client) =>
      client.clientAuthMethod === 'none' &&
      (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    interactions: {
      url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
      policy: tesseraPrompts(d.mfaWanted),
    },
    fetch: d.fetch,
    // A client's key set or sector document is a few kB; a larger one is refused while read, not
    // held in memory whole (the library's default is no limit).
    fetchResponseBodyLimits: { jwks_uri: 64 * 1024, sector_identifier_uri: 64 * 1024 },
    features: {
      devInteractions: { enabled: false },
      // Off unless DYNAMIC_REGISTRATION: each registration needs an initial access token, which
      // a policy spends; the client gets a registration access token to manage itself (RFC 7592).
      registration: d.registration
        ? {
            enabled: true,
            initialAccessToken: true,
            issueRegistrationAccessToken: true,
            policies: d.registration.policies,
          }
        : { enabled: false },
      registrationManagement: { enabled: d.registration !== undefined, rotateRegistrationAccessToken: true },
      // RFC 8628 at /device; the pages are Tessera's, the sign-in and consent the usual ones.
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: (ctx, _form, out, err) => d.pages.deviceInput(ctx, out, err),
        userCodeConfirmSource: (ctx, _form, client, _deviceInfo, userCode) =>
          d.pages.deviceConfirm(ctx, client.clientName, userCode),
        successSource: (ctx) => d.pages.deviceSuccess(ctx),
      },
      // Logout tokens for clients with a backchannel_logout_uri (server/logout/ posts them).
      backchannelLogout: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        allowedPolicy: async (ctx, client, token) =>
          client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client?.clientId,
      },
      // Another client's token is left alone with the same 200 as an unknown one (RFC 7009 §2.2):
      // the library's own check would tell a confidential caller that the token is live.
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      // Sender-constrained tokens (RFC 9449) and pushed authorization requests (RFC 9126), for
      // every client; a client registered with require_dpop / require_par must use them.
      dPoP: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => d.pages.logout(ctx, form),
        postLogoutSuccessSource: async (ctx) => d.pages.loggedOut(ctx),
      },
      resourceIndicators: {
        enabled: true,
        // No `resource`: an opaque token for userinfo (client_credentials: its OpenID scopes only,
        // others refused). One registered API: a JWT for it.
        defaultResource: async (ctx, client, oneOf) => {
          if (!oneOf) settleClientCredentialsScope(ctx, await d.grantedOidcScopes(client.clientId));
          return oneOf ?? undefined;
        },
        useGrantedResource: async () => true,
        // Asked at /auth and at /token for every grant type: a client gets tokens only for the
        // APIs it was granted, and only the scopes it holds for them.
        getResourceServerInfo: async (ctx, indicator, client) => {
          const api = await d.findApi(indicator);
          if (!api) throw new errors.InvalidTarget('resource is not a registered API');
          const scopes = await d.grantedApiScopes(client.clientId, api);
          if (!scopes) throw new errors.InvalidTarget('this client may not get tokens for this API');
          settleClientCredentialsScope(ctx, scopes);
          return {
            audience: api.audience,
            scope: scopes.join(' '),
            accessTokenTTL: api.access_token_ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    extraTokenClaims: async (ctx, token) => ({
      roles: await d.rolesFor(ctx, {
        accountId: 'accountId' in token ? token.accountId : undefined,
        clientId: token.clientId ?? '',
      }),
    }),
    formats: {
      customizers: {
        jwt: async (_ctx, token, jwt) => {
          const { grantId, clientId } = token as { grantId?: string; clientId?: string };
          const exp = Number(jwt.payload.exp);
          if (grantId && clientId) {
            await d.recordJwtAccessToken(
              String(jwt.payload.jti),
              grantId,
              clientId,
              exp - Math.floor(Date.now() / 1000),
            );
          }
        },
      },
    },
    // Refresh tokens for offline_access (which the library keeps only with prompt=consent), and
    // always for spa clients, whose tokens rotate on every use.
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') &&
      (code.scopes.has('offline_access') || client.clientAuthMethod === 'none'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      DeviceCode: 600,
      ClientCredentials: 600,
      IdToken: 3600,
      Interaction: 3600,
      RefreshToken: 14 * DAY,
      Session: 14 * DAY,
      // Covers the longest chain of rotated refresh tokens, which the library caps at a year.
      Grant: 366 * DAY,
    },
    renderError: async (ctx, out) => d.pages.error(ctx, out),
  };
}
