import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * The README's Python recipe, run with Debian's python3-authlib: a machine client gets a token
 * for an API (client_secret_basic, and client_secret_post) and verifies it against /jwks; the
 * token names the scopes the client was granted though the request named none.
 */
const API = 'https://api.example.test/python';
const SCRIPT = join(import.meta.dirname, '..', 'fixtures', 'authlib-machine-client.py');

let tessera: RunningTessera;

beforeAll(async () => {
  tessera = await startTessera();
  (
    await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'reports:read', '--scope', 'reports:write'])
  ).json();
});

afterAll(async () => {
  await tessera?.dispose();
});

function runRecipe(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', [SCRIPT], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a Python machine client with authlib', () => {
  for (const method of ['client_secret_basic', 'client_secret_post']) {
    it(`gets a verified API token with its granted scopes (${method})`, async () => {
      const client = (
        await tessera.cli([
          'clients',
          'create',
          '--name',
          'Py',
          '--type',
          'machine',
          '--scope',
          'reports:read',
          '--auth-method',
          method,
        ])
      ).json<{ client_id: string; client_secret: string }>();
      const result = await runRecipe({
        ISSUER: tessera.issuer,
        AUDIENCE: API,
        CLIENT_ID: client.client_id,
        CLIENT_SECRET: client.client_secret,
        AUTH_METHOD: method,
      });
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        token_type: 'Bearer',
        scope: 'reports:read',
        client_id: client.client_id,
      });
    });
  }
});
