import type { JWK } from 'jose';
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Row types of every table, as Kysely sees them. jsonb columns are written as JSON text. */
type Json<T> = ColumnType<T, string, string>;
type CreatedAt = ColumnType<Date, Date | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | undefined, Date>;

export interface UsersTable {
  id: string;
  email: string;
  username: string | null;
  name: string | null;
  password_hash: string | null;
  email_verified: Generated<boolean>;
  disabled_at: Date | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** The username a pending sign-up asked for; claimed when the address is verified. */
  pending_username: string | null;
  /** When a self-service sign-up never verified is deleted; null once verified. */
  pending_until: Date | null;
  /** Set while the password hash is one an import brought in (another system's format); see users import. */
  password_imported_at: Date | null;
}

export interface RolesTable {
  id: string;
  name: string;
  description: string | null;
  requires_mfa: Generated<boolean>;
  created_at: CreatedAt;
}

export interface UserRolesTable {
  user_id: string;
  role_id: string;
}

export type ClientType = 'web' | 'spa' | 'machine' | 'device';

export interface ClientsTable {
  client_id: string;
  name: string;
  type: ClientType;
  secret_encrypted: string | null;
  redirect_uris: Json<string[]>;
  post_logout_redirect_uris: Json<string[]>;
  scopes: Json<string[] | null>;
  require_mfa: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
  /** Where logout tokens are posted (OpenID Connect Back-Channel Logout); null for none. */
  backchannel_logout_uri: string | null;
  /** How long a rotated refresh token presented again answers with its successor; 0 for never. */
  refresh_grace_seconds: Generated<number>;
  /** Null: the type's default (client_secret_basic, or none for spa). */
  token_endpoint_auth_method: ClientAuthMethod | null;
  /** Where a private_key_jwt client publishes its keys, or its keys kept here (one of the two). */
  jwks_uri: string | null;
  jwks: ColumnType<{ keys: JWK[] } | null, string | null | undefined, string | null>;
  /** Access tokens only DPoP-bound (RFC 9449). */
  require_dpop: Generated<boolean>;
  /** Authorization requests only pushed first (RFC 9126). */
  require_par: Generated<boolean>;
}

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export interface ClientRolesTable {
  client_id: string;
  role_id: string;
}

/** An API a client may get access tokens for, as an operator granted it. */
export interface ClientApisTable {
  client_id: string;
  api_id: string;
}

export interface ResourceServersTable {
  id: string;
  audience: string;
  name: string | null;
  scopes: Json<string[]>;
  access_token_ttl: Generated<number>;
  created_at: CreatedAt;
}

export interface SigningKeysTable {
  kid: string;
  alg: 'RS256' | 'ES256';
  public_jwk: Json<JWK>;
  private_jwk_encrypted: string;
  created_at: CreatedAt;
  activates_at: Date;
  retired_at: Date | null;
}

export interface OidcPayloadsTable {
  type: string;
  id: string;
  payload: Json<Record<string, unknown>>;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: Date | null;
  consumed_at: Date | null;
  account_id: string | null;
  /** A spent refresh token's successor, sealed, kept until `grace_until` only. */
  successor: string | null;
  grace_until: Date | null;
}

export interface EmailTokensTable {
  token_hash: string;
  user_id: string;
  purpose: 'verify_email' | 'reset_password' | 'invitation';
  email: string;
  created_at: CreatedAt;
  expires_at: Date;
  consumed_at: Date | null;
}

/** Counts per day of events the audit log does not keep one row each for (tokens issued). */
export interface DailyCountsTable {
  day: ColumnType<string, string, never>;
  kind: string;
  n: ColumnType<string, number, number>;
}

export interface RateLimitsTable {
  key: string;
  points: number;
  expires_at: Date;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  key_hash: string;
  owner: string;
  created_at: CreatedAt;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export interface ApiKeyRolesTable {
  api_key_id: string;
  role_id: string;
}

export interface AuditEventsTable {
  /** Taken from the sequence under the chain lock, so ids follow the chain's order. */
  id: ColumnType<string, string, never>;
  at: CreatedAt;
  type: string;
  user_id: string | null;
  client_id: string | null;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Json<Record<string, unknown>>;
  prev_hash: string;
  hash: string;
}

/** The one row that serialises audit appends: the newest event, and where the sweep cut the chain. */
export interface AuditChainTable {
  id: ColumnType<boolean, never, never>;
  last_id: string | null;
  last_hash: string;
  swept_through_id: string | null;
  swept_hash: string;
}

export interface TotpFactorsTable {
  user_id: string;
  secret_encrypted: string;
  confirmed_at: Date | null;
  last_used_step: number | null;
  /** When the current secret was made: restarting an enrolment renews it. */
  created_at: UpdatedAt;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: Date | null;
  created_at: CreatedAt;
}

export interface FederatedIdentitiesTable {
  /** The connection's id: 'github' for the GitHub the GITHUB_* variables define. */
  provider: string;
  subject: string;
  user_id: string;
  display_name: string;
  linked_at: CreatedAt;
}

export type ConnectionType = 'oidc' | 'github';

/** An upstream identity provider an operator connected (or the GITHUB_* variables define). */
export interface ConnectionsTable {
  id: string;
  type: ConnectionType;
  name: string;
  issuer: string | null;
  base_url: string | null;
  api_url: string | null;
  client_id: string;
  client_secret_encrypted: string;
  scopes: Json<string[]>;
  trust_upstream_mfa: Generated<boolean>;
  enabled: Generated<boolean>;
  source: ColumnType<'operator' | 'environment', 'operator' | 'environment' | undefined, never>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** A domain whose addresses sign in through one connection (home-realm discovery). */
export interface ConnectionDomainsTable {
  domain: string;
  connection_id: string;
}

/** A WebAuthn credential of an account, as its authenticator registered it. */
export interface PasskeysTable {
  id: string;
  user_id: string;
  /** base64url, as the browser names it. */
  credential_id: string;
  /** The COSE public key, base64url. */
  public_key: string;
  /** bigint: read back as a string or number depending on the driver. */
  sign_count: ColumnType<string | number, number | undefined, number>;
  transports: Json<string[]>;
  aaguid: string;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  name: string;
  created_at: CreatedAt;
  last_used_at: Date | null;
}

export type WebAuthnPurpose = 'register' | 'sign_in' | 'second_factor';

export interface WebAuthnChallengesTable {
  challenge_hash: string;
  purpose: WebAuthnPurpose;
  /** `interaction:UID` or `session:UID`: where the challenge may be answered. */
  bound_to: string;
  /** The account the challenge is for; null for a passkey sign-in, where the passkey names it. */
  user_id: string | null;
  expires_at: Date;
}

export interface MailOutboxTable {
  id: string;
  kind: string;
  recipient: string;
  data: ColumnType<Record<string, string>, string | undefined, string>;
  state: ColumnType<'pending' | 'sent' | 'skipped' | 'failed', undefined, 'sent' | 'skipped' | 'failed'>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  lease_token: string | null;
  last_error: string | null;
  created_at: CreatedAt;
  finished_at: Date | null;
}

/** A logout token to post: the client, the user and the session id that ended. */
export interface BackchannelLogoutsTable {
  id: string;
  client_id: string;
  account_id: string;
  sid: string;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  lease_token: string | null;
  created_at: CreatedAt;
}

export interface ConfigVersionTable {
  id: boolean;
  version: number;
}

export interface Schema {
  users: UsersTable;
  roles: RolesTable;
  user_roles: UserRolesTable;
  clients: ClientsTable;
  client_roles: ClientRolesTable;
  client_apis: ClientApisTable;
  resource_servers: ResourceServersTable;
  signing_keys: SigningKeysTable;
  oidc_payloads: OidcPayloadsTable;
  audit_events: AuditEventsTable;
  audit_chain: AuditChainTable;
  email_tokens: EmailTokensTable;
  rate_limits: RateLimitsTable;
  daily_counts: DailyCountsTable;
  api_keys: ApiKeysTable;
  api_key_roles: ApiKeyRolesTable;
  totp_factors: TotpFactorsTable;
  recovery_codes: RecoveryCodesTable;
  federated_identities: FederatedIdentitiesTable;
  connections: ConnectionsTable;
  connection_domains: ConnectionDomainsTable;
  config_version: ConfigVersionTable;
  mail_outbox: MailOutboxTable;
  backchannel_logouts: BackchannelLogoutsTable;
  passkeys: PasskeysTable;
  webauthn_challenges: WebAuthnChallengesTable;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type FederatedIdentity = Selectable<FederatedIdentitiesTable>;
export type ConnectionRow = Selectable<ConnectionsTable>;
export type PasskeyRow = Selectable<PasskeysTable>;
export type ClientRow = Selectable<ClientsTable>;
export type ResourceServerRow = Selectable<ResourceServersTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
