#!/usr/bin/env node
import { cacheCompiledModules } from '../server/compile-cache.ts';

// Like the server, the command line loads its modules once the compile cache is on: a command
// answers in about 0.45 s instead of 0.7.
cacheCompiledModules();
await import('./cli/run.ts');
