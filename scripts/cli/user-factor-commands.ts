import { removePasskeyOfUser, showUser } from '../../server/accounts/user-factors.ts';
import type { Command } from './context.ts';

/** `tessera users show ID` and `tessera users remove-passkey ID PASSKEY_ID`; the work is in server/accounts/user-factors.ts. */
export const userFactorCommands: Record<string, Command> = {
  'users show': {
    usage: 'tessera users show USER_ID   (profile, roles, sign-in factors with passkeys, linked identities)',
    positionals: 1,
    run: ({ db, positionals: [id = ''] }) => showUser(db, id),
  },
  'users remove-passkey': {
    usage: 'tessera users remove-passkey USER_ID PASSKEY_ID   (also ends the user’s sessions)',
    positionals: 2,
    async run({ db, audit, positionals: [id = '', passkeyId = ''] }) {
      const { revoked } = await removePasskeyOfUser(db, id, passkeyId);
      await audit({
        type: 'passkey.removed',
        userId: id,
        actor: 'cli',
        details: { passkey_id: passkeyId, by: 'operator', revoked },
      });
      return { id, passkey_id: passkeyId, removed: true, revoked };
    },
  },
};
