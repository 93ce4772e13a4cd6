import { BlockList, isIP } from 'node:net';

/**
 * Which URLs a dynamically registered client may name (SSRF, RFC 7591 §5): Tessera fetches some of
 * them (jwks_uri, backchannel_logout_uri) and sends browsers to the others, so none may point at
 * loopback, private, link-local or other special-use addresses, or at a `localhost` name. Names
 * that resolve to such an address are caught when they are fetched, by oidc-provider's own
 * SSRF-checking dispatcher, which dynamically registered clients always keep (outgoing-fetch.ts).
 * URLs with other schemes (a native app's `com.example.app:/cb`) reach no server of ours.
 */
const SPECIAL_USE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  SPECIAL_USE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  SPECIAL_USE.addSubnet(net, prefix, 'ipv6');
}

function privateHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host)?.[1];
  if (mapped) return SPECIAL_USE.check(mapped, 'ipv4');
  const family = isIP(host);
  if (family === 4) return SPECIAL_USE.check(host, 'ipv4');
  if (family === 6) return SPECIAL_USE.check(host, 'ipv6');
  return false;
}

/** The first metadata field (a `…_uri` or `…_uris`) naming a private destination, or undefined. */
export function privateDestinationIn(metadata: Record<string, unknown>): string | undefined {
  for (const [field, value] of Object.entries(metadata)) {
    if (!field.endsWith('_uri') && !field.endsWith('_uris')) continue;
    for (const uri of Array.isArray(value) ? value : [value]) {
      const url = typeof uri === 'string' ? URL.parse(uri) : null;
      if (url && (url.protocol === 'http:' || url.protocol === 'https:') && privateHost(url.hostname)) return field;
    }
  }
  return undefined;
}
