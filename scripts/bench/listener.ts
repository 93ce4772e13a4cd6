import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP server on a free loopback port, listening before it has a handler: the issuer URL
 * must name the port, and both servers are built from their issuer.
 */
export interface Listener {
  readonly origin: string;
  readonly port: number;
  serve(handler: RequestListener): void;
  close(): Promise<void>;
}

export async function listenOnLoopback(): Promise<Listener> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    serve: (handler) => server.on('request', handler),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // The load generator's keep-alive connections would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

/** A port free on the loopback now, for a server in another process to take. */
export async function freeLoopbackPort(): Promise<number> {
  const listener = await listenOnLoopback();
  await listener.close();
  return listener.port;
}
