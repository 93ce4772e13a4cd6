import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Logger } from '../logger.ts';

/**
 * Clients' protocol mistakes: worth a line for operators, never an error-level alarm. The answer
 * a client gets names the error only loosely (`invalid_client`: "client authentication failed");
 * the library's `error_detail` says why ("invalid secret provided", "alg mismatch", a jwks_uri
 * that did not answer), so it goes into the line. It is written by the library, never echoes a
 * secret, and is cut short in case a future version puts more in it.
 */
const EVENTS = [
  'authorization.error',
  'pushed_authorization_request.error',
  'grant.error',
  'introspection.error',
  'revocation.error',
  'userinfo.error',
  'end_session.error',
] as const;

interface ProtocolError {
  error?: string;
  error_description?: string;
  error_detail?: unknown;
}

export function logProtocolErrors(provider: Provider, logger: Logger): void {
  for (const event of EVENTS) {
    // The typings overload `on` per event name; every one of these passes (ctx, error).
    (provider as unknown as NodeJS.EventEmitter).on(event, (ctx: KoaContextWithOIDC, err: ProtocolError) =>
      logger.info(
        {
          reqId: ctx.state.requestId,
          route: ctx.oidc?.route,
          client: ctx.oidc?.client?.clientId,
          error: err.error,
          description: err.error_description,
          ...(err.error_detail !== undefined ? { detail: String(err.error_detail).slice(0, 300) } : {}),
        },
        event,
      ),
    );
  }
}
