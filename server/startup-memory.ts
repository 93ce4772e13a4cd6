import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor?: 'regular' | 'last-resort' }) => void;

/**
 * V8's collector, reached through a context made while --expose-gc is briefly on (the technique
 * of the expose-gc package), so neither a flag on the command line nor a global `gc` is needed.
 */
let gc: Gc | undefined;
function collector(): Gc {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as Gc;
    setFlagsFromString('--no-expose-gc');
  }
  return gc;
}

/**
 * Hands back to the system what starting a node took and no longer needs, before it listens.
 * Starting (compiling every module, migrations, loading the catalog, the provider's setup)
 * allocates fast enough that V8 grows its young generation to the full semi-space size, and an
 * idle process runs no collection that would shrink it again: some 40 MB of RSS kept for nothing.
 * One memory-reducing collection (what V8 does under memory pressure) shrinks the young
 * generation and compacts the old one; under load V8 grows them back as the allocation rate asks.
 */
export function releaseStartupMemory(): void {
  collector()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/** One full collection now, so that no garbage made before lands on the work that follows. */
export function collectGarbage(): void {
  collector()({ type: 'major', execution: 'sync' });
}
