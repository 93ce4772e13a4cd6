import type { Configuration } from 'oidc-provider';

/**
 * oidc-provider's `fetch`, for every request it makes to another server (today: a
 * private_key_jwt client's `jwks_uri`). The library hands over a 2.5 s timeout signal, kept, and
 * a dispatcher that refuses loopback and private addresses, dropped here: every client is
 * registered by an operator, whose internal services live on such addresses. The URL is the one
 * the operator wrote, so http is used only where they wrote http; redirects are refused, so an
 * answer never comes from anywhere else. Dynamically registered clients, when they exist, must
 * keep the library's dispatcher.
 */
type Fetch = NonNullable<Configuration['fetch']>;

export const outgoingFetch: Fetch = (url, options) => {
  const { dispatcher: _refusesPrivateAddresses, ...rest } = options as RequestInit & { dispatcher?: unknown };
  return fetch(url, { ...rest, redirect: 'error' });
};
