import type { Context } from 'koa';
import type { ConsoleDeps } from './deps.ts';
import { adminOperation } from './operations.ts';
import { adminOf } from './session.ts';
import { doneTo, view } from './view.ts';

/** /admin/keys: the signing keys and their state; rotate them, as `tessera keys rotate` does. */
export function signingKeyPages(deps: ConsoleDeps) {
  const list = adminOperation(deps, 'get', '/signing-keys');
  const rotate = adminOperation(deps, 'post', '/signing-keys/rotate');
  return {
    async list(ctx: Context) {
      const now = Date.now();
      const keys = (await list(ctx, adminOf(ctx))) as {
        kid: string;
        alg: string;
        created_at: string;
        activates_at: string;
        retired_at: string | null;
      }[];
      const state = (k: (typeof keys)[number]) =>
        k.retired_at && Date.parse(k.retired_at) <= now
          ? 'Retired, still published'
          : Date.parse(k.activates_at) > now
            ? 'Published, signs soon'
            : 'Signing';
      view(ctx, deps, 'keys', 'Signing keys', {
        title: 'Signing keys',
        keys: keys.map((k) => ({ ...k, state: state(k) })),
      });
    },
    async rotate(ctx: Context) {
      await rotate(ctx, adminOf(ctx));
      doneTo(ctx, '/admin/keys', 'keys-rotated');
    },
  };
}
