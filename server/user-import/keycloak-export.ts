import { z } from 'zod';
import { USERNAME_PATTERN } from '../accounts/signup.ts';
import { AppError } from '../errors.ts';
import { type ImportSource, isInvalid, type Position, toImportedUser } from './imported-user.ts';
import { keycloakPasswordHash, keycloakTotpSecret } from './keycloak-credentials.ts';

/**
 * Reads a Keycloak realm export (`kc.sh export --realm R --users realm_file`, or one of the
 * `R-users-N.json` files `--users different_files` writes) into users to import:
 * - realm roles are granted with the roles their composites include, less Keycloak's built-ins
 *   (`default-roles-R`, `offline_access`, `uma_authorization`); client roles have no counterpart
 *   in Tessera, whose roles are global, and are left out;
 * - a username that is not a Tessera username (Keycloak allows an email as one) is left empty;
 * - service accounts (a client's own user) are not people and are skipped;
 * - a disabled user is imported disabled.
 */
const role = z.looseObject({
  name: z.string(),
  composites: z.looseObject({ realm: z.array(z.string()).optional() }).optional(),
});
const realmExport = z.looseObject({
  realm: z.string().optional(),
  roles: z.looseObject({ realm: z.array(role).optional() }).optional(),
  users: z.array(z.unknown()),
});
const credential = z.looseObject({
  type: z.string().optional(),
  secretData: z.string().optional(),
  credentialData: z.string().optional(),
});
const user = z.looseObject({
  username: z.string(),
  email: z.string().optional(),
  emailVerified: z.boolean().optional(),
  enabled: z.boolean().optional(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  credentials: z.array(credential).optional(),
  realmRoles: z.array(z.string()).optional(),
  serviceAccountClientId: z.string().optional(),
});

const BUILT_IN_ROLES = ['offline_access', 'uma_authorization'];

export function readKeycloakExport(text: string): ImportSource {
  let parsed: z.infer<typeof realmExport>;
  try {
    parsed = realmExport.parse(JSON.parse(text));
  } catch {
    throw new AppError('invalid_input', 'not a Keycloak realm export: expected a JSON object with a "users" array');
  }
  const builtIn = new Set([...BUILT_IN_ROLES, `default-roles-${(parsed.realm ?? '').toLowerCase()}`]);
  const expand = roleExpander(parsed.roles?.realm ?? []);
  const source: ImportSource = { users: [], invalid: [] };
  parsed.users.forEach((raw, index) => {
    const found = user.safeParse(raw);
    const at: Position = {
      user: index + 1,
      username: found.success ? found.data.username : String((raw as { username?: unknown })?.username ?? '?'),
    };
    if (!found.success) {
      source.invalid.push({ ...at, error: 'is not a Keycloak user representation' });
      return;
    }
    const u = found.data;
    if (u.serviceAccountClientId !== undefined) return;
    if (!u.email) {
      source.invalid.push({ ...at, error: 'has no email address (Tessera signs people in by email)' });
      return;
    }
    const password = u.credentials?.find((c) => c.type === 'password');
    const hash = password ? keycloakPasswordHash(password) : undefined;
    if (hash && 'error' in hash) {
      source.invalid.push({ ...at, error: hash.error });
      return;
    }
    const otp = u.credentials?.find((c) => c.type === 'otp');
    const name = [u.firstName, u.lastName].filter((part) => part?.trim()).join(' ');
    const imported = toImportedUser(at, {
      email: u.email,
      email_verified: u.emailVerified === true,
      username: USERNAME_PATTERN.test(u.username) ? u.username : null,
      name: name || null,
      roles: expand(u.realmRoles ?? []).filter((r) => !builtIn.has(r.toLowerCase())),
      password_hash: hash?.hash ?? null,
      totp_secret: (otp && keycloakTotpSecret(otp)) ?? null,
      disabled: u.enabled === false,
    });
    if (isInvalid(imported)) source.invalid.push(imported);
    else source.users.push(imported);
  });
  return source;
}

/** The roles named and every realm role their composites include, however deep. */
function roleExpander(roles: z.infer<typeof role>[]): (names: string[]) => string[] {
  const composites = new Map(roles.map((r) => [r.name, r.composites?.realm ?? []]));
  return (names) => {
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const inner of composites.get(name) ?? []) visit(inner);
    };
    for (const name of names) visit(name);
    return [...seen];
  };
}
