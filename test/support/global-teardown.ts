import { rm } from 'node:fs/promises';
import { TEMPLATE_ENV } from './global-setup.ts';

export default async function globalTeardown(): Promise<void> {
  const template = process.env[TEMPLATE_ENV];
  if (template) await rm(template, { recursive: true, force: true });
}
