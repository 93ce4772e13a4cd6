import type { Db } from '../../db/database.ts';
import {
  type ConnectionWithDomains,
  enabledConnectionOfDomain,
  findConnection,
  listOperatorConnectionNames,
} from '../../db/repositories/connections.ts';
import type { ConnectionRow } from '../../db/schema.ts';
import { createGitHubUpstream } from '../federation/github-upstream.ts';
import type { Upstream } from '../federation/upstream.ts';
import { createUpstreamOidc } from '../federation/upstream-oidc.ts';
import type { Secrets } from '../secrets.ts';
import { redirectUriOf } from './connections.ts';

/**
 * The connections a sign-in can use, read from the database on each use, so a connection an
 * operator adds, changes or disables shows on every node at once. The client for a connection is
 * kept while the row is unchanged: it holds the provider's discovery document and keys.
 * The GitHub of GITHUB_* keeps its own button and routes (federation/github-flow.ts).
 */
export interface Upstreams {
  /** The "Continue with NAME" buttons: enabled connections an operator made, oldest first. */
  buttons(): Promise<{ id: string; name: string }[]>;
  /** The enabled connection with this id and its client, or undefined. */
  open(id: string): Promise<{ connection: ConnectionWithDomains; upstream: Upstream } | undefined>;
  /** The enabled connection that holds this address's domain (home-realm discovery). */
  forAddress(address: string): Promise<ConnectionRow | undefined>;
}

export function createUpstreams(deps: { db: Db; secrets: Secrets; issuer: string }): Upstreams {
  const clients = new Map<string, { version: number; upstream: Upstream }>();

  function clientOf(row: ConnectionRow): Upstream {
    const cached = clients.get(row.id);
    if (cached && cached.version === row.updated_at.getTime()) return cached.upstream;
    const common = {
      clientId: row.client_id,
      clientSecret: deps.secrets.decrypt(row.client_secret_encrypted),
      redirectUri: redirectUriOf(deps.issuer, row.id),
    };
    const upstream =
      row.type === 'oidc'
        ? createUpstreamOidc({ ...common, issuer: row.issuer ?? '', scopes: row.scopes })
        : createGitHubUpstream({ ...common, baseUrl: row.base_url ?? '', apiUrl: row.api_url ?? '' });
    clients.set(row.id, { version: row.updated_at.getTime(), upstream });
    return upstream;
  }

  return {
    // Each page shows them, so one narrow statement: no secrets to read, no domains.
    buttons: () => listOperatorConnectionNames(deps.db),
    async open(id) {
      const connection = await findConnection(deps.db, id);
      if (!connection?.enabled || connection.source !== 'operator') return undefined;
      return { connection, upstream: clientOf(connection) };
    },
    async forAddress(address) {
      const at = address.lastIndexOf('@');
      if (at < 1) return undefined;
      const row = await enabledConnectionOfDomain(deps.db, address.slice(at + 1).toLowerCase());
      return row?.source === 'operator' ? row : undefined;
    },
  };
}
