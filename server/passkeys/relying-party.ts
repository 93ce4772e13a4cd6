/**
 * Who Tessera is to an authenticator: the relying-party ID is the issuer's host (so a passkey
 * made here works for every page of this issuer and nowhere else), and assertions must come from
 * the issuer's own origin.
 */
export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

export function relyingPartyOf(issuer: string): RelyingParty {
  const url = new URL(issuer);
  return { id: url.hostname, name: 'Tessera', origin: url.origin };
}
