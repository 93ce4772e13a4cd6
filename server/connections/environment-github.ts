import type { Db } from '../../db/database.ts';
import { disableEnvironmentConnection, upsertEnvironmentConnection } from '../../db/repositories/connections.ts';
import type { Config } from '../config.ts';
import type { Secrets } from '../secrets.ts';
import { ENVIRONMENT_GITHUB_ID } from './connections.ts';

/**
 * The GITHUB_* variables define one GitHub connection, written at every start: created or
 * brought up to date while they are set, disabled (not deleted: the identities linked through it
 * stay) once they are not. Its id is 'github', which identities linked before connections
 * existed already carry, and its callback stays /github/callback. Answers how many identities a
 * move to another GitHub unlinked.
 */
export async function syncEnvironmentGitHub(db: Db, secrets: Secrets, github: Config['github']): Promise<number> {
  if (!github) {
    await disableEnvironmentConnection(db, ENVIRONMENT_GITHUB_ID);
    return 0;
  }
  return upsertEnvironmentConnection(db, {
    id: ENVIRONMENT_GITHUB_ID,
    type: 'github',
    name: 'GitHub',
    issuer: null,
    base_url: github.baseUrl,
    api_url: github.apiUrl,
    client_id: github.clientId,
    client_secret_encrypted: secrets.encrypt(github.clientSecret),
    scopes: JSON.stringify([]),
  });
}
