import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy the test controls, on 127.0.0.1 and a free port, in front of a dependency (PostgreSQL,
 * Redis, SMTP). Point Tessera at `port` instead of the real one, then break the link on purpose:
 * - `cut()` drops every open connection at once (a server restart, a network blip);
 * - `refuse()` also refuses new ones until `restore()` (a server that is down);
 * - `delay(ms)` holds each new connection that long before connecting it (a slow network);
 * - `latency(ms)` delays every chunk, each way, on connections opened from then on (a distant server).
 */
export interface TcpProxy {
  readonly port: number;
  /** The target URL with its host and port replaced by the proxy's (for DATABASE_URL, REDIS_URL, SMTP_URL). */
  url(targetUrl: string): string;
  cut(): void;
  refuse(): void;
  restore(): void;
  delay(ms: number): void;
  latency(ms: number): void;
  /** Connections currently open through the proxy. */
  readonly openConnections: number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let refusing = false;
  let delayMs = 0;
  let latencyMs = 0;

  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  const server: Server = createServer((client) => {
    track(client);
    if (refusing) {
      client.resetAndDestroy();
      return;
    }
    client.pause();
    const open = () => {
      if (client.destroyed) return;
      if (refusing) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect(target.port, target.host);
      track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      if (latencyMs > 0) {
        // Timers of one delay fire in the order they were set, so the bytes keep their order.
        const after = latencyMs;
        const forward = (from: Socket, to: Socket) =>
          from.on('data', (chunk) => setTimeout(() => to.writable && to.write(chunk), after));
        forward(client, upstream);
        forward(upstream, client);
      } else {
        client.pipe(upstream).pipe(client);
      }
      client.resume();
    };
    if (delayMs > 0) setTimeout(open, delayMs);
    else open();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('the proxy has no port');
  const { port } = address;

  const cut = () => {
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
  };

  return {
    port,
    url(targetUrl) {
      const url = new URL(targetUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    cut,
    refuse() {
      refusing = true;
      cut();
    },
    restore() {
      refusing = false;
      delayMs = 0;
    },
    delay(ms) {
      delayMs = ms;
    },
    latency(ms) {
      latencyMs = ms;
    },
    get openConnections() {
      return sockets.size;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
