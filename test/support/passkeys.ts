import type { CDPSession, Page } from 'playwright-core';

/**
 * A passkey authenticator for a Chromium page, through the DevTools Protocol's virtual
 * authenticator: platform-like (internal transport), with resident keys and user verification
 * that always passes, as a laptop's fingerprint reader would. Its passkeys can be copied to the
 * authenticator of another page, as one laptop serves several browser windows (a virtual
 * authenticator belongs to one page).
 */
type Credential = Record<string, unknown>;

export interface VirtualAuthenticator {
  /** The passkeys it holds, as the protocol describes them (private keys included). */
  credentials(): Promise<Credential[]>;
  /** Adds copies of passkeys taken from another authenticator. */
  add(credentials: Credential[]): Promise<void>;
}

export async function virtualAuthenticator(page: Page): Promise<VirtualAuthenticator> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () =>
      (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials as unknown as Credential[],
    async add(credentials) {
      for (const credential of credentials) {
        await cdp.send('WebAuthn.addCredential', {
          authenticatorId,
          credential: credential as never,
        });
      }
    },
  };
}
