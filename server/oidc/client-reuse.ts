import type { Provider } from 'oidc-provider';
import type { ClientWithRoles } from '../../db/repositories/clients.ts';

/**
 * oidc-provider's `Client.find` asks the adapter for the client's metadata on every request and,
 * to reuse the Client it built before, keys its cache by a SHA-256 of that metadata's JSON. The
 * catalog already hands out one row object per client until the client changes, so the Client
 * built from a row is kept beside that row and found by identity: a changed client is a new row,
 * built anew, and the old one goes with its row. Anything the catalog does not hold (the static
 * clients, a client that registered itself, an unknown id: the catalog remembers those misses
 * too) and an id holding a NUL (which no database query may carry) go the library's way.
 */
export function reuseCatalogClients(
  provider: Provider,
  rowOf: (clientId: string) => Promise<ClientWithRoles | undefined>,
): void {
  const { Client } = provider;
  const find = Client.find.bind(Client);
  const built = new WeakMap<ClientWithRoles, Awaited<ReturnType<typeof find>>>();
  Client.find = async (id: string) => {
    const row = typeof id === 'string' && id && !id.includes('\u0000') ? await rowOf(id) : undefined;
    if (!row) return find(id);
    let client = built.get(row);
    if (!client) {
      client = await find(id);
      if (client) built.set(row, client);
    }
    return client;
  };
}
