import type Koa from 'koa';
import mount from 'koa-mount';
import { type AdapterPayload, type ClientMetadata, type KoaContextWithOIDC, Provider } from 'oidc-provider';
import { payloadAdapter } from '../../adapters/oidc-adapter.ts';
import { commitRotations } from '../../adapters/refresh-rotation.ts';
import type { Db } from '../../db/database.ts';
import { queueLogouts } from '../../db/repositories/backchannel-logouts.ts';
import type { ClientWithRoles } from '../../db/repositories/clients.ts';
import { userRoleNames } from '../../db/repositories/roles.ts';
import { adminAudience } from '../admin-api/auth.ts';
import type { Audit } from '../audit/audit.ts';
import { seenIn } from '../audit/audit.ts';
import type { Catalog } from '../catalog.ts';
import {
  allowedOidcScopes,
  apiGranted,
  apiScopesFor,
  isOperatorDestination,
  toClientMetadata,
} from '../clients/clients.ts';
import type { Page } from '../http/pages.ts';
import type { KeySet } from '../keys/signing-keys.ts';
import type { Logger } from '../logger.ts';
import type { PostLogout } from '../logout/logout-sender.ts';
import { secondFactorWanted } from '../mfa/second-factor-wanted.ts';
import type { RateLimiter } from '../rate-limit/rate-limits.ts';
import { registrationPolicies } from '../registration/dynamic-registration.ts';
import type { Secrets } from '../secrets.ts';
import { apiKeyIntrospection } from './api-key-introspection.ts';
import { atRoutes } from './at-routes.ts';
import { reuseCatalogClients } from './client-reuse.ts';
import { oidcConfiguration } from './configuration.ts';
import { answerOutagesAs503, onServerError } from './dependency-outage.ts';
import { deviceGuard } from './device-guard.ts';
import { devicePages } from './device-pages.ts';
import { accountFinder, rolesLoadedFor } from './find-account.ts';
import {
  grantOfJwtAccessToken,
  JWT_ACCESS_TOKEN_MODEL,
  jwtAccessTokenRevoked,
  jwtIntrospection,
} from './jwt-introspection.ts';
import { outgoingFetch } from './outgoing-fetch.ts';
import { logProtocolErrors } from './protocol-errors.ts';
import { replayChecksUnderConcurrency } from './replay-detection.ts';
import { revocationAsLibrariesExpect } from './revocation.ts';
import { rfc6749ErrorCodes } from './rfc-errors.ts';

interface HostDependencies {
  issuer: string;
  db: Db;
  secrets: Secrets;
  catalog: Catalog;
  logger: Logger;
  page: Page;
  audit: Audit;
  rateLimiter: RateLimiter;
  /** DYNAMIC_REGISTRATION: clients may register themselves with an initial access token. */
  dynamicRegistration: boolean;
  /** Called for every access token issued, by whichever provider is current (token-counter.ts). */
  tokenIssued: () => void;
}

/** The running provider. Replaced whole when the signing keys change; requests in flight finish on the old one. */
export interface OidcHost {
  readonly provider: Provider;
  readonly middleware: Koa.Middleware;
  /** The account and client of the live grant a person's JWT access token (by `jti`) was issued under. */
  grantOfAccessToken(jti: string): Promise<{ accountId: string | undefined; clientId: string | undefined } | undefined>;
  /** Posts one queued logout token (server/logout/); 'skipped' when the client takes none. */
  postLogout: PostLogout;
  /** Whether a JWT access token (by `jti`) was revoked at the revocation endpoint. */
  accessTokenRevoked(jti: string): Promise<boolean>;
}

export function createOidcHost(deps: HostDependencies): OidcHost {
  let current = build(deps, deps.catalog.keySet);
  deps.catalog.on('keys', (keySet) => {
    current = build(deps, keySet);
    deps.logger.info({ keys: keySet.fingerprint }, 'signing keys changed; provider reloaded');
  });
  return {
    get provider() {
      return current.provider;
    },
    middleware: (ctx, next) => current.mounted(ctx, next),
    grantOfAccessToken: (jti) => grantOfJwtAccessToken(current.records, current.provider, jti),
    postLogout: (target) => current.postLogout(target),
    accessTokenRevoked: (jti) => jwtAccessTokenRevoked(current.records, jti),
  };
}

function build(deps: HostDependencies, keySet: KeySet) {
  const { db, secrets, catalog, logger, page, issuer, audit } = deps;
  const device = devicePages(page);
  const Adapter = clientsFromCatalog(payloadAdapter(db, secrets), catalog, secrets, deps.dynamicRegistration);
  const records = new Adapter(JWT_ACCESS_TOKEN_MODEL);
  const provider = new Provider(
    issuer,
    oidcConfiguration({
      issuer,
      https: issuer.startsWith('https:'),
      cookieKeys: secrets.cookieSigner,
      jwks: keySet.keys,
      adapter: Adapter,
      findAccount: accountFinder(db),
      findApi: (audience) => catalog.findApi(audience),
      grantedApiScopes: async (clientId, api) => {
        const client = await catalog.findClient(clientId);
        const byNameOnly = api.audience === adminAudience(issuer);
        return client && apiGranted(client, api, byNameOnly) ? apiScopesFor(client, api) : undefined;
      },
      grantedOidcScopes: async (clientId) => {
        const client = await catalog.findClient(clientId);
        return client ? allowedOidcScopes(client) : [];
      },
      rolesFor: async (ctx, { accountId, clientId }) => {
        if (!accountId) return (await catalog.findClient(clientId))?.roles ?? [];
        return rolesLoadedFor(ctx, accountId) ?? userRoleNames(db, accountId);
      },
      mfaWanted: async (ctx, accountId) =>
        (await secondFactorWanted(db, catalog, accountId, ctx.oidc.client?.clientId, ctx.oidc.params?.acr_values)) !==
        undefined,
      recordJwtAccessToken: (jti, grantId, clientId, expiresIn) =>
        records.upsert(jti, { grantId, clientId }, expiresIn),
      pages: {
        error: (ctx, out) =>
          page(
            ctx,
            'error',
            {
              title: 'Error',
              heading: 'Something is not right',
              message: out.error_description ?? out.error,
              code: out.error,
              requestId: ctx.state.requestId,
            },
            Math.max(ctx.status, 400),
          ),
        logout: (ctx, form) =>
          page(ctx, 'logout', { title: 'Sign out', form, clientName: ctx.oidc.client?.clientName }),
        loggedOut: (ctx) => page(ctx, 'logged-out', { title: 'Signed out' }),
        deviceInput: device.input,
        deviceConfirm: device.confirm,
        deviceSuccess: device.success,
      },
      fetch: outgoingFetch((href) => isOperatorDestination(db, href)),
      registration: deps.dynamicRegistration ? { policies: registrationPolicies(db, audit) } : undefined,
    }),
  );
  reuseCatalogClients(provider, (clientId) => catalog.findClient(clientId));
  const postLogout = queueBackchannelLogouts(provider, db);
  replayChecksUnderConcurrency(provider);
  provider.use(answerOutagesAs503(page));
  // Writes a refresh token rotation at the end of its request; a database gone then throws past
  // the library to the error boundary, which answers 503.
  provider.use(
    atRoutes(
      provider,
      ['token'],
      commitRotations(db, {
        sealer: secrets,
        graceSeconds: async (clientId) => (await catalog.findClient(clientId))?.refresh_grace_seconds ?? 0,
      }),
    ),
  );
  provider.use(
    atRoutes(
      provider,
      ['introspection'],
      jwtIntrospection({
        issuer,
        publicKeys: () => keySet.publicKeys,
        records,
        clientExists: async (clientId) => (await catalog.findClient(clientId)) !== undefined,
      }),
    ),
  );
  provider.use(
    atRoutes(
      provider,
      ['revocation'],
      revocationAsLibrariesExpect({ issuer, publicKeys: () => keySet.publicKeys, records }),
    ),
  );
  provider.use(atRoutes(provider, ['token', 'introspection', 'revocation'], rfc6749ErrorCodes));
  provider.use(atRoutes(provider, ['code_verification'], deviceGuard(provider, deps.rateLimiter, page)));
  provider.use(atRoutes(provider, ['introspection'], apiKeyIntrospection(db, issuer)));
  provider.on('server_error', onServerError(logger));
  // Each one access token issued, for people or machines, JWT or opaque.
  provider.on('access_token.issued', deps.tokenIssued);
  provider.on('access_token.saved', deps.tokenIssued);
  provider.on('client_credentials.issued', deps.tokenIssued);
  provider.on('client_credentials.saved', deps.tokenIssued);
  logProtocolErrors(provider, logger);
  provider.on('end_session.success', (ctx: KoaContextWithOIDC) =>
    audit({
      type: 'logout',
      userId: ctx.oidc.session?.accountId,
      clientId: ctx.oidc.client?.clientId,
      ...seenIn(ctx),
    }).catch((err) => logger.error({ err }, 'audit failed')),
  );
  provider.on('registration_create.success', (ctx: KoaContextWithOIDC, client: { clientId: string }) =>
    audit({ type: 'client.registered', clientId: client.clientId, ...seenIn(ctx), details: { dynamic: true } }).catch(
      (err) => logger.error({ err }, 'audit failed'),
    ),
  );
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    logger.info({ grantId }, 'grant revoked');
    // At the token endpoint the only revocation is a used refresh token presented again.
    if (ctx.oidc?.route !== 'token') return;
    audit({
      type: 'refresh_token.reused',
      userId: ctx.oidc.entities.Grant?.accountId,
      clientId: ctx.oidc.client?.clientId,
      ...seenIn(ctx),
      details: { grantId },
    }).catch((err) => logger.error({ err }, 'audit failed'));
  });
  return { provider, records, postLogout, mounted: mount(provider as unknown as Koa) };
}

/**
 * The library posts logout tokens itself when a person signs out at /session/end, and waits for
 * every app before it answers. Tessera queues them instead, like every other way a session ends
 * (adapters/session-logouts.ts), so signing out never waits for an app; the sender posts them
 * with the library's own method, which signs the token for the client.
 */
function queueBackchannelLogouts(provider: Provider, db: Db): PostLogout {
  const { Client } = provider;
  // The method is the library's, left out of its type definitions.
  type Sends = { clientId: string; backchannelLogout(sub: string, sid: string): Promise<void> };
  const prototype = Client.prototype as unknown as Sends;
  const post = prototype.backchannelLogout;
  prototype.backchannelLogout = async function (this: Sends, sub: string, sid: string) {
    await queueLogouts(db, [{ client_id: this.clientId, account_id: sub, sid }]);
  };
  return async ({ client_id, account_id, sid }) => {
    const client = await Client.find(client_id);
    if (!client?.backchannelLogoutUri) return 'skipped';
    await post.call(client, account_id, sid);
    return 'sent';
  };
}

/**
 * The payload adapter, except that `Client` is read (never written) from the clients table, or,
 * for a client that registered itself (RFC 7591) while DYNAMIC_REGISTRATION is on, from the
 * artifacts like any other payload. The
 * metadata is made once per cached row: it decrypts the secret, which every token request would
 * otherwise pay for. A change replaces the row in the catalog, and with it this entry.
 * An id holding a NUL character (from a posted body, which no middleware of ours parses) is never
 * stored, since PostgreSQL text cannot hold one: it is not found, instead of failing the query.
 */
function withoutJti(payload: AdapterPayload | undefined) {
  if (!payload) return undefined;
  const { jti: _jti, ...metadata } = payload;
  return metadata;
}

function clientsFromCatalog(
  Payloads: ReturnType<typeof payloadAdapter>,
  catalog: Catalog,
  secrets: Secrets,
  dynamicRegistration: boolean,
) {
  const metadata = new WeakMap<ClientWithRoles, ClientMetadata>();
  const storable = (id: string) => !id.includes('\u0000');
  return class extends Payloads {
    override async findByUid(uid: string) {
      return storable(uid) ? super.findByUid(uid) : undefined;
    }

    override async findByUserCode(userCode: string) {
      return storable(userCode) ? super.findByUserCode(userCode) : undefined;
    }

    override async consume(id: string) {
      if (storable(id)) await super.consume(id);
    }

    override async destroy(id: string) {
      if (storable(id)) await super.destroy(id);
    }

    override async revokeByGrantId(grantId: string) {
      if (storable(grantId)) await super.revokeByGrantId(grantId);
    }

    override async find(id: string) {
      if (!storable(id)) return undefined;
      if (this.type !== 'Client') return super.find(id);
      const row = await catalog.findClient(id);
      // Not an operator's: a client that registered itself (stored with the artifacts), served
      // only while registration is on.
      if (!row) return dynamicRegistration ? withoutJti(await super.find(id)) : undefined;
      let made = metadata.get(row);
      if (!made) {
        made = toClientMetadata(row, secrets);
        metadata.set(row, made);
      }
      return made;
    }
  };
}
