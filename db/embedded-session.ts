import type { Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Mutex, type MutexInterface } from 'async-mutex';
import { type DatabaseConnection, PGliteDialect, PGliteDriver } from 'kysely';

/**
 * PGlite is ONE PostgreSQL session, shared by the server's Kysely and by CLI clients that
 * pglite-socket serves one protocol message at a time. Left alone, a server query can run between a
 * client's Parse and its Bind (replacing the unnamed prepared statement) or inside a client's
 * transaction, and the reverse. One lock makes them take turns: Kysely holds it for a connection
 * checkout (one query or one whole transaction); a socket client from its first message until a
 * ReadyForQuery that leaves the session idle, so through its whole transaction. A client that hangs
 * up is rolled back and lets go; one that holds the lock and falls silent is cut off.
 */
export interface EmbeddedSession {
  /** Kysely's dialect for the server's side. */
  readonly dialect: PGliteDialect;
  /** What to hand PGLiteSocketServer in place of the PGlite instance. */
  readonly socketDb: PGlite;
  /** Lets the session cut off a silent lock holder of this server's. */
  serve(server: PGLiteSocketServer): void;
  stop(): void;
}

/** How long a socket client may hold the database between two of its messages. */
export const SOCKET_HOLD_TIMEOUT_MS = 30_000;

const READY_FOR_QUERY_IDLE = [0x5a, 0, 0, 0, 5, 0x49]; // 'Z', length 5, status 'I'
const SYNC = new Uint8Array([0x53, 0, 0, 0, 4]);

export function createEmbeddedSession(
  pglite: PGlite,
  { holdTimeoutMs = SOCKET_HOLD_TIMEOUT_MS, warn = (message: string) => console.warn(message) } = {},
): EmbeddedSession {
  const lock = new Mutex();
  let socketRelease: MutexInterface.Releaser | undefined; // set while a socket client holds the lock
  let idle = true; // the last response to a socket message was ReadyForQuery, outside a transaction
  let holdTimer: NodeJS.Timeout | undefined;
  let cutOffHolder = () => {};

  class TurnTakingDriver extends PGliteDriver {
    #release: MutexInterface.Releaser | undefined;
    override async acquireConnection(): Promise<DatabaseConnection> {
      const release = await lock.acquire();
      this.#release = release;
      return super.acquireConnection().catch((err) => {
        this.#release = undefined;
        release();
        throw err;
      });
    }
    override async releaseConnection(): Promise<void> {
      const release = this.#release;
      this.#release = undefined;
      try {
        await super.releaseConnection();
      } finally {
        release?.();
      }
    }
  }

  const letGo = () => {
    clearTimeout(holdTimer);
    socketRelease?.();
    socketRelease = undefined;
  };

  // Only what pglite-socket calls. `isInTransaction` answers "a socket client holds the session":
  // its queue then serves only that client's messages, and rolls back for it when it hangs up.
  const socketDb = {
    get waitReady() {
      return pglite.waitReady;
    },
    isInTransaction: () => socketRelease !== undefined,
    async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
      clearTimeout(holdTimer);
      socketRelease ??= await lock.acquire();
      return pglite.runExclusive(async () => {
        try {
          return await fn();
        } finally {
          if (idle) letGo();
          else holdTimer = setTimeout(() => cutOffHolder(), holdTimeoutMs).unref();
        }
      });
    },
    async execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }) {
      let tail: number[] = [];
      // A message that throws keeps the lock until the hold timer cuts its client off.
      idle = false;
      await pglite.execProtocolRawStream(message, {
        ...options,
        onRawData(data) {
          tail = [...tail, ...data.subarray(-6)].slice(-6);
          options.onRawData(data);
        },
      });
      idle = tail.length === 6 && tail.every((byte, i) => byte === READY_FOR_QUERY_IDLE[i]);
    },
    // pglite-socket's call when a client that holds the session hangs up: undo what it left open.
    async exec(statement: string) {
      await pglite.runExclusive(async () => {
        if (!socketRelease) return;
        // A Query first, so an exchange cut short before its Sync is aborted rather than committed.
        await pglite.execProtocolRaw(simpleQuery(statement));
        await pglite.execProtocolRaw(SYNC);
        if (pglite.isInTransaction()) await pglite.execProtocolRaw(simpleQuery(statement));
        idle = true;
        letGo();
      });
      return [];
    },
  } as unknown as PGlite;

  return {
    dialect: new (class extends PGliteDialect {
      override createDriver() {
        return new TurnTakingDriver({ pglite });
      }
    })({ pglite }),
    socketDb,
    serve(server) {
      const internals = server as unknown as {
        handlers?: Set<{ handlerId: number; socket: Socket | null }>;
        queryQueue?: { lastHandlerId?: number | null };
      };
      const { handlers, queryQueue } = internals;
      if (!(handlers instanceof Set) || !queryQueue || !('lastHandlerId' in queryQueue)) {
        throw new Error('pglite-socket changed: its handlers and queue are not where expected');
      }
      cutOffHolder = () => {
        warn(
          `a CLI connection held the embedded database ${holdTimeoutMs / 1000} s without a word; closing it and rolling back what it left open`,
        );
        const holder = [...handlers].find((handler) => handler.handlerId === queryQueue.lastHandlerId);
        // Its hang-up brings pglite-socket's rollback, through `exec` above.
        if (holder?.socket) holder.socket.destroy();
        else void socketDb.exec('ROLLBACK');
      };
    },
    stop: () => clearTimeout(holdTimer),
  };
}

function simpleQuery(statement: string): Uint8Array {
  const text = Buffer.from(`${statement}\0`);
  const message = Buffer.alloc(5 + text.length);
  message.write('Q');
  message.writeInt32BE(4 + text.length, 1);
  text.copy(message, 5);
  return message;
}
