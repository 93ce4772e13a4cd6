/**
 * oidc-provider's `fetch` (client jwks_uri, back-channel logout posts). The library hands every
 * request a dispatcher that refuses private, loopback and other special-use addresses (SSRF).
 * Rules this file adds:
 * - a destination an operator registered for a client (CLI, admin API) may be any address they
 *   named, internal services included: for those the SSRF dispatcher is dropped. Over http only
 *   where they wrote http, since the URL is theirs, byte for byte;
 * - every other destination (a dynamically registered client's) keeps the SSRF dispatcher;
 * - every request ends after OUTGOING_TIMEOUT_MS, whatever the other side does.
 */
export const OUTGOING_TIMEOUT_MS = 2_500;

/** Whether an operator registered this exact URL (normalized as `new URL(u).href`) for a client. */
export type OperatorDestination = (href: string) => Promise<boolean>;

export function outgoingFetch(operatorDestination: OperatorDestination) {
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const href = input instanceof Request ? input.url : new URL(input).href;
    const options: RequestInit & { dispatcher?: unknown } = {
      ...init,
      signal: AbortSignal.timeout(OUTGOING_TIMEOUT_MS),
      // The URL is the one registered: an answer never comes from anywhere else.
      redirect: 'error',
    };
    if (await operatorDestination(href)) delete options.dispatcher;
    return fetch(input, options);
  };
}
