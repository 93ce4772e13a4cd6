import { EventEmitter } from 'node:events';
import type { Db } from '../db/database.ts';
import { type ClientWithRoles, findClient } from '../db/repositories/clients.ts';
import { readConfigVersion } from '../db/repositories/config-version.ts';
import { findResourceServer } from '../db/repositories/resource-servers.ts';
import { listSigningKeys } from '../db/repositories/signing-keys.ts';
import type { ResourceServerRow, SigningKeyRow } from '../db/schema.ts';
import { reasonOf } from './http/dependency-errors.ts';
import { type KeySet, keyOrderAt, keySetAt } from './keys/signing-keys.ts';
import type { Logger } from './logger.ts';
import type { Secrets } from './secrets.ts';

/**
 * What every request reads and operators rarely change (clients, APIs, signing keys), cached in
 * this process. One cheap query a second watches `config_version`, which triggers bump on every
 * change, so a change made by the CLI or another node shows here within a second, no restart.
 * Emits `keys` with the new KeySet when the published keys or the signing order change. While the
 * database is away the cache keeps serving what it holds; the outage is logged once, and so is the
 * recovery, not once a second.
 */
export class Catalog extends EventEmitter<{ keys: [KeySet] }> {
  #clients = new Map<string, Promise<ClientWithRoles | undefined>>();
  #apis = new Map<string, Promise<ResourceServerRow | undefined>>();
  #keyRows: SigningKeyRow[] = [];
  #keySet: KeySet = { keys: [], publicKeys: [], fingerprint: '' };
  #version = -1;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #polling = false;

  readonly #db: Db;
  readonly #secrets: Secrets;
  readonly #logger: Logger;
  readonly #pollMs: number;

  constructor(db: Db, secrets: Secrets, logger: Logger, pollMs = 1_000) {
    super();
    this.#db = db;
    this.#secrets = secrets;
    this.#logger = logger;
    this.#pollMs = pollMs;
  }

  /** Loads the current state; call once before serving. */
  async load(): Promise<void> {
    await this.refresh();
    this.#timer = setInterval(() => {
      // One poll at a time: against a database that is slow to answer, ticks must not pile up.
      if (this.#polling) return;
      this.#polling = true;
      this.refresh()
        .then(
          () => {
            if (this.#failing) this.#logger.info('catalog refresh works again');
            this.#failing = false;
          },
          (err) => {
            if (!this.#failing)
              this.#logger.warn({ reason: reasonOf(err) }, 'catalog refresh failed; serving from cache');
            this.#failing = true;
          },
        )
        .finally(() => {
          this.#polling = false;
        });
    }, this.#pollMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get keySet(): KeySet {
    return this.#keySet;
  }

  findClient(clientId: string): Promise<ClientWithRoles | undefined> {
    return cached(this.#clients, clientId, () => findClient(this.#db, clientId));
  }

  findApi(audience: string): Promise<ResourceServerRow | undefined> {
    return cached(this.#apis, audience, () => findResourceServer(this.#db, audience));
  }

  private async refresh(): Promise<void> {
    const version = await readConfigVersion(this.#db);
    if (version !== this.#version) {
      this.#version = version;
      this.#clients.clear();
      this.#apis.clear();
      this.#keyRows = await listSigningKeys(this.#db);
    }
    // Recomputed on every tick, not only on change: a pending key starts signing by the clock.
    // The order alone says whether anything changed; keys are decrypted only when it did.
    if (keyOrderAt(this.#keyRows).fingerprint !== this.#keySet.fingerprint) {
      this.#keySet = keySetAt(this.#keyRows, this.#secrets);
      this.emit('keys', this.#keySet);
    }
  }
}

// Unknown ids are cached too (as undefined), so a flood of made-up client ids costs one query
// each at most once; the cap keeps that flood from growing memory without bound.
const MAX_ENTRIES = 10_000;

function cached<T>(map: Map<string, Promise<T>>, key: string, load: () => Promise<T>): Promise<T> {
  let hit = map.get(key);
  if (!hit) {
    if (map.size >= MAX_ENTRIES) map.clear();
    hit = load();
    hit.catch(() => map.delete(key));
    map.set(key, hit);
  }
  return hit;
}
