/**
 * Tessera's own errors: one class, a closed set of codes. Protocol errors stay oidc-provider's
 * `errors.*`. The code and message are safe to show; `status` is the HTTP answer.
 */
export type AppErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'invalid_credentials'
  | 'account_disabled'
  | 'interaction_expired'
  | 'unauthorized'
  | 'forbidden'
  | 'audit_chain_broken';

const statusOf: Record<AppErrorCode, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  invalid_credentials: 401,
  account_disabled: 403,
  interaction_expired: 400,
  unauthorized: 401,
  forbidden: 403,
  audit_chain_broken: 409,
};

export class AppError extends Error {
  override name = 'AppError';
  readonly code: AppErrorCode;
  readonly status: number;
  constructor(code: AppErrorCode, message: string) {
    super(message);
    this.code = code;
    this.status = statusOf[code];
  }
}

/** Turns a Postgres unique violation (23505) into a 409 `conflict`; rethrows anything else. */
export function conflictOnDuplicate(message: string): (err: unknown) => never {
  return (err) => {
    if ((err as { code?: unknown } | null)?.code === '23505') throw new AppError('conflict', message);
    throw err;
  };
}
