import { enableCompileCache } from 'node:module';
import { join } from 'node:path';

/**
 * Node's compile cache keeps each module's type-stripped source and compiled code between starts,
 * keyed by its path and content. The server and the command line turn it on before importing
 * anything else, so a restart strips no types and compiles less: Node's TypeScript stripper is a
 * WebAssembly instance whose memory grows with each file it strips and never shrinks (some 10 MB
 * of an idle node's RSS). With NODE_COMPILE_CACHE set (the Docker image sets it) the entry files
 * too come from the cache and the stripper is never loaded. The cache lives in the project's
 * node_modules/.cache, not the shared system temporary directory, where another local user could
 * plant entries; where it cannot be written, Node runs without it.
 */
export function cacheCompiledModules(): void {
  enableCompileCache(join(import.meta.dirname, '..', 'node_modules', '.cache', 'tessera'));
}
