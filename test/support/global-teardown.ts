import { rm } from 'node:fs/promises';
import { RUN_DIR_ENV } from './global-setup.ts';

export default async function globalTeardown(): Promise<void> {
  const runDir = process.env[RUN_DIR_ENV];
  if (runDir) await rm(runDir, { recursive: true, force: true });
}
