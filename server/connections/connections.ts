import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import {
  type ConnectionWithDomains,
  deleteConnectionRow,
  deleteIdentitiesOf,
  findConnection,
  insertConnection,
  listConnections,
  sameOrigin,
  setConnectionDomains,
  updateConnectionRow,
} from '../../db/repositories/connections.ts';
import type { ConnectionType } from '../../db/schema.ts';
import { AppError, conflictOnDuplicate } from '../errors.ts';
import { UpstreamError } from '../federation/upstream.ts';
import { createUpstreamOidc } from '../federation/upstream-oidc.ts';
import type { Secrets } from '../secrets.ts';
import { parseInput } from '../validation.ts';

/**
 * Upstream connections as operators describe them (CLI, admin API). Rules this file enforces:
 * - an OpenID Connect connection's issuer must answer discovery when it is created or its issuer
 *   changes, so a typo is a clear error now, not a broken button later;
 * - the client secret is encrypted at rest and never shown again, not even to operators;
 * - a domain belongs to one connection at most; names are unique (ignoring case), as they are
 *   what the "Continue with NAME" buttons say;
 * - the connection the GITHUB_* variables define is changed through those variables only.
 */
export const GITHUB_DEFAULTS = { baseUrl: 'https://github.com', apiUrl: 'https://api.github.com' } as const;

// Zod runs refinements even when z.url() failed, hence URL.parse and the pass on null.
const baseUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).refine((value) => {
  const url = URL.parse(value);
  return !url || (!url.search && !url.hash && !url.username && !url.password);
}, 'must have no query, #fragment or credentials');

const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token without spaces');
const domain = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/,
    'must be a domain name like acme.example',
  );

const fields = {
  type: z.enum(['oidc', 'github'], { error: 'must be oidc or github' }),
  name: z.string().trim().min(1, 'is required').max(60),
  issuer: baseUrl,
  base_url: baseUrl,
  api_url: baseUrl,
  client_id: z.string().trim().min(1, 'is required').max(500),
  client_secret: z.string().min(1, 'is required').max(2000),
  scopes: z.array(scopeToken).max(50),
  domains: z.array(domain).max(100),
  /** The upstream's word that it checked a second factor (`amr` mfa/otp/hwk…, or an `acr`) counts here. */
  trust_upstream_mfa: z.boolean(),
  enabled: z.boolean(),
};

export const connectionInput = z
  .object({
    ...fields,
    issuer: fields.issuer.optional(),
    base_url: fields.base_url.optional(),
    api_url: fields.api_url.optional(),
    scopes: fields.scopes.default([]),
    domains: fields.domains.default([]),
    trust_upstream_mfa: fields.trust_upstream_mfa.default(false),
    enabled: fields.enabled.default(true),
  })
  .superRefine((c, ctx) => {
    if (c.type === 'oidc' && !c.issuer) ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'is required' });
    if (c.type === 'oidc' && (c.base_url || c.api_url)) {
      ctx.addIssue({ code: 'custom', path: ['base_url'], message: 'is for github connections only' });
    }
    if (c.type === 'github' && c.issuer) {
      ctx.addIssue({ code: 'custom', path: ['issuer'], message: 'is for oidc connections only' });
    }
  });

/** What may change of a connection; its type and id stay. */
export const connectionPatch = z.object({
  name: fields.name.optional(),
  issuer: fields.issuer.optional(),
  base_url: fields.base_url.optional(),
  api_url: fields.api_url.optional(),
  client_id: fields.client_id.optional(),
  client_secret: fields.client_secret.optional(),
  scopes: fields.scopes.optional(),
  domains: fields.domains.optional(),
  trust_upstream_mfa: fields.trust_upstream_mfa.optional(),
  enabled: fields.enabled.optional(),
});

export type ConnectionInput = z.input<typeof connectionInput>;
export type ConnectionPatch = z.input<typeof connectionPatch>;

export interface ConnectionView {
  id: string;
  type: ConnectionType;
  name: string;
  issuer?: string;
  base_url?: string;
  api_url?: string;
  client_id: string;
  scopes: string[];
  domains: string[];
  trust_upstream_mfa: boolean;
  enabled: boolean;
  /** `environment` for the connection the GITHUB_* variables define. */
  source: 'operator' | 'environment';
  /** The callback URL to register at the upstream. */
  redirect_uri: string;
  created_at: string;
}

/** The id of the connection GITHUB_* defines: identities linked before connections existed carry it. */
export const ENVIRONMENT_GITHUB_ID = 'github';

/** Where the upstream sends the browser back; GITHUB_*'s connection keeps the URL registered before connections. */
export function redirectUriOf(issuer: string, id: string): string {
  return new URL(id === ENVIRONMENT_GITHUB_ID ? '/github/callback' : `/connections/${id}/callback`, issuer).href;
}

export function describeConnection(row: ConnectionWithDomains, issuer: string): ConnectionView {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    ...(row.type === 'oidc'
      ? { issuer: row.issuer ?? '' }
      : { base_url: row.base_url ?? '', api_url: row.api_url ?? '' }),
    client_id: row.client_id,
    scopes: row.scopes,
    domains: row.domains,
    trust_upstream_mfa: row.trust_upstream_mfa,
    enabled: row.enabled,
    source: row.source,
    redirect_uri: redirectUriOf(issuer, row.id),
    created_at: row.created_at.toISOString(),
  };
}

export async function requireConnection(db: Db, id: string): Promise<ConnectionWithDomains> {
  const row = await findConnection(db, id);
  if (!row) throw new AppError('not_found', `connection ${id} does not exist`);
  return row;
}

export async function listConnectionViews(db: Db, issuer: string): Promise<ConnectionView[]> {
  return (await listConnections(db)).map((row) => describeConnection(row, issuer));
}

/** Creates a connection after its issuer answered discovery; answers it with the redirect URI to register. */
export async function createConnection(
  db: Db,
  secrets: Secrets,
  issuer: string,
  input: ConnectionInput,
): Promise<ConnectionView> {
  const c = parseInput(connectionInput, input);
  // Hex, so an id never starts with '-' and reads as a flag on a command line.
  const id = randomBytes(8).toString('hex');
  if (c.type === 'oidc') await checkDiscovery(c.issuer ?? '', c.client_id);
  await db
    .transaction()
    .execute(async (trx) => {
      await refuseTakenDomains(trx, id, c.domains);
      await insertConnection(trx, {
        id,
        type: c.type,
        name: c.name,
        issuer: c.type === 'oidc' ? (c.issuer ?? null) : null,
        base_url: c.type === 'github' ? (c.base_url ?? GITHUB_DEFAULTS.baseUrl) : null,
        api_url: c.type === 'github' ? (c.api_url ?? GITHUB_DEFAULTS.apiUrl) : null,
        client_id: c.client_id,
        client_secret_encrypted: secrets.encrypt(c.client_secret),
        scopes: JSON.stringify(c.scopes),
        trust_upstream_mfa: c.trust_upstream_mfa,
        enabled: c.enabled,
      });
      await setConnectionDomains(trx, id, c.domains);
    })
    .catch(conflictOnDuplicate(`a connection named ${c.name}, or holding one of these domains, already exists`));
  return describeConnection(await requireConnection(db, id), issuer);
}

/**
 * Changes the given fields; a new OpenID Connect issuer must answer discovery first. Answers the
 * connection and how many identities the change unlinked.
 */
export async function updateConnection(
  db: Db,
  secrets: Secrets,
  issuer: string,
  id: string,
  input: ConnectionPatch,
): Promise<{ connection: ConnectionView; identitiesUnlinked: number }> {
  const patch = parseInput(connectionPatch, input);
  const row = await requireOperatorConnection(db, id);
  if (row.type === 'oidc' && (patch.base_url || patch.api_url)) {
    throw new AppError('invalid_input', 'base_url: is for github connections only');
  }
  if (row.type === 'github' && patch.issuer)
    throw new AppError('invalid_input', 'issuer: is for oidc connections only');
  if (patch.issuer && patch.issuer !== row.issuer) await checkDiscovery(patch.issuer, patch.client_id ?? row.client_id);
  // Another issuer, or another GitHub, numbers its people anew: an identity linked through the
  // old one would sign whoever has its subject at the new one in to someone else's account.
  const newNamespace =
    (patch.issuer !== undefined && URL.parse(patch.issuer)?.href !== URL.parse(row.issuer ?? '')?.href) ||
    (patch.base_url !== undefined && !sameOrigin(patch.base_url, row.base_url));
  const identitiesUnlinked = await db
    .transaction()
    .execute(async (trx) => {
      const unlinked = newNamespace ? await deleteIdentitiesOf(trx, id) : 0;
      if (patch.domains) {
        await refuseTakenDomains(trx, id, patch.domains);
        await setConnectionDomains(trx, id, patch.domains);
      }
      const { domains: _domains, client_secret, scopes, ...plain } = patch;
      await updateConnectionRow(trx, id, {
        ...plain,
        ...(client_secret !== undefined ? { client_secret_encrypted: secrets.encrypt(client_secret) } : {}),
        ...(scopes ? { scopes: JSON.stringify(scopes) } : {}),
      });
      return unlinked;
    })
    .catch(conflictOnDuplicate(`a connection named ${patch.name}, or holding one of these domains, already exists`));
  return { connection: describeConnection(await requireConnection(db, id), issuer), identitiesUnlinked };
}

/** Deletes a connection and the identities linked through it: their accounts stay, with their other ways in. */
export async function deleteConnection(db: Db, id: string): Promise<void> {
  await requireOperatorConnection(db, id);
  await db.transaction().execute((trx) => deleteConnectionRow(trx, id));
}

async function requireOperatorConnection(db: Db, id: string): Promise<ConnectionWithDomains> {
  const row = await requireConnection(db, id);
  if (row.source === 'environment') {
    throw new AppError(
      'conflict',
      `connection ${id} is defined by the GITHUB_* variables: change or unset them and restart instead`,
    );
  }
  return row;
}

async function refuseTakenDomains(db: Db, id: string, domains: string[]): Promise<void> {
  if (!domains.length) return;
  const taken = await db
    .selectFrom('connection_domains')
    .innerJoin('connections', 'connections.id', 'connection_domains.connection_id')
    .select(['connection_domains.domain', 'connections.name'])
    .where('connection_domains.domain', 'in', domains)
    .where('connection_domains.connection_id', '<>', id)
    .executeTakeFirst();
  if (taken) throw new AppError('conflict', `domain ${taken.domain} already belongs to connection ${taken.name}`);
}

/** Fetches the issuer's discovery document, or fails with a message an operator can act on. */
async function checkDiscovery(issuer: string, clientId: string): Promise<void> {
  try {
    await createUpstreamOidc({ issuer, clientId, clientSecret: 'unused', scopes: [], redirectUri: issuer }).discover();
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    throw new AppError('invalid_input', `issuer: no usable OpenID Connect discovery at ${issuer} (${err.message})`);
  }
}
