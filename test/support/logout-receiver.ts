import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An app's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0 §2.5), in the test
 * process: it keeps every logout token posted to it, by path, and answers 200.
 */
export interface ReceivedLogout {
  path: string;
  token: string;
}

export interface LogoutReceiver {
  port: number;
  url(path: string): string;
  received: ReceivedLogout[];
  /** The first logout (already received or still to come) whose token passes `matches`. */
  waitFor(path: string, matches: (token: string) => Promise<boolean>, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function startLogoutReceiver(): Promise<LogoutReceiver> {
  const received: ReceivedLogout[] = [];
  const listeners = new Set<() => void>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      const token = new URLSearchParams(body).get('logout_token') ?? '';
      received.push({ path: req.url ?? '', token });
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
      for (const listener of listeners) listener();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    received,
    waitFor(path, matches, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const seen = new Set<ReceivedLogout>();
        const check = async () => {
          for (const logout of received.filter((r) => r.path === path && !seen.has(r))) {
            seen.add(logout);
            if (await matches(logout.token)) {
              done();
              resolve(logout.token);
              return;
            }
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching logout token at ${path} within ${timeoutMs} ms`));
        }, timeoutMs);
        const listener = () => void check();
        const done = () => {
          clearTimeout(timer);
          listeners.delete(listener);
        };
        listeners.add(listener);
        void check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
