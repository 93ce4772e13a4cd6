import type { Provider } from 'oidc-provider';
import { AlreadySeen } from '../../adapters/oidc-adapter.ts';

/**
 * A client assertion (private_key_jwt) and a DPoP proof are single use. oidc-provider checks
 * that with `ReplayDetection.unique`: find the jti, and save it if absent. Between the two, a
 * concurrent request with the same JWT also finds nothing, so both would pass. The adapter makes
 * the save an insert that fails with AlreadySeen when the jti is stored; this turns that failure
 * into the library's own "not unique" answer (invalid_client, or invalid_dpop_proof).
 */
type Unique = (iss: string, jti: string, exp: number) => Promise<boolean>;

export function replayChecksUnderConcurrency(provider: Provider): void {
  const ReplayDetection = (provider as unknown as { ReplayDetection: { unique: Unique } }).ReplayDetection;
  const unique = ReplayDetection.unique.bind(ReplayDetection);
  Object.defineProperty(ReplayDetection, 'unique', {
    value: async (iss: string, jti: string, exp: number) => {
      try {
        return await unique(iss, jti, exp);
      } catch (err) {
        if (err instanceof AlreadySeen) return false;
        throw err;
      }
    },
  });
}
