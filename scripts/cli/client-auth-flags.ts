import { readFile } from 'node:fs/promises';
import type { AUTH_METHODS } from '../../server/clients/client-authentication.ts';
import { AppError } from '../../server/errors.ts';
import { type CommandContext, text } from './context.ts';

/**
 * The flags of `clients create` and `clients update` that say how a client authenticates and what
 * it must do beyond that: `--auth-method`, its keys (`--jwks-uri U`, or `--jwks-file F` holding a
 * JWK set), `--require-dpop`, `--require-par` (and on update `--no-require-dpop|par`).
 */
export const CLIENT_AUTH_FLAGS = {
  'auth-method': { type: 'string' },
  'jwks-uri': { type: 'string' },
  'jwks-file': { type: 'string' },
  'require-dpop': { type: 'boolean' },
  'require-par': { type: 'boolean' },
  'no-require-dpop': { type: 'boolean' },
  'no-require-par': { type: 'boolean' },
} as const;

export const CLIENT_AUTH_USAGE =
  '[--auth-method client_secret_basic|client_secret_post|private_key_jwt] [--jwks-uri U | --jwks-file F] [--require-dpop] [--require-par]';

type AuthFields = {
  token_endpoint_auth_method?: (typeof AUTH_METHODS)[number];
  jwks_uri?: string;
  jwks?: { keys: { kty: string }[] };
  require_dpop?: boolean;
  require_par?: boolean;
};

/** The fields the flags given set; nothing for a flag left out. */
export async function clientAuthFields(values: CommandContext['values']): Promise<AuthFields> {
  for (const what of ['dpop', 'par']) {
    if (values[`require-${what}`] && values[`no-require-${what}`]) {
      throw new AppError('invalid_input', `give --require-${what} or --no-require-${what}, not both`);
    }
  }
  const method = text(values['auth-method']);
  const jwksUri = text(values['jwks-uri']);
  const jwksFile = text(values['jwks-file']);
  if (jwksUri !== undefined && jwksFile !== undefined) {
    throw new AppError('invalid_input', 'give --jwks-uri or --jwks-file, not both');
  }
  const flag = (name: string) => (values[name] ? true : values[`no-${name}`] ? false : undefined);
  const dpop = flag('require-dpop');
  const par = flag('require-par');
  return {
    ...(method !== undefined ? { token_endpoint_auth_method: method as AuthFields['token_endpoint_auth_method'] } : {}),
    ...(jwksUri !== undefined ? { jwks_uri: jwksUri } : {}),
    ...(jwksFile !== undefined ? { jwks: await readJwks(jwksFile) } : {}),
    ...(dpop !== undefined ? { require_dpop: dpop } : {}),
    ...(par !== undefined ? { require_par: par } : {}),
  };
}

async function readJwks(file: string): Promise<AuthFields['jwks']> {
  let content: string;
  try {
    content = await readFile(file, 'utf8');
  } catch {
    throw new AppError('invalid_input', `--jwks-file: cannot read ${file}`);
  }
  try {
    return JSON.parse(content);
  } catch {
    throw new AppError('invalid_input', `--jwks-file: ${file} is not JSON (a JWK set: {"keys": […]})`);
  }
}
