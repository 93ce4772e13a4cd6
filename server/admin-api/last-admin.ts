import { type Db, inTransaction } from '../../db/database.ts';
import { countEnabledHolders } from '../../db/repositories/roles.ts';
import { AppError } from '../errors.ts';
import { ADMIN_ROLE } from './auth.ts';

/**
 * Runs `change` (taking the admin role from someone, disabling or deleting an account) in one
 * transaction, and undoes it if it left no enabled user with the admin role where there was one:
 * nobody could sign in to the console any more. The role's row is locked first, so two admins
 * removing each other at the same moment are decided one after the other. The CLI, run by
 * whoever holds the server's database, is the way back in and is not held to this.
 */
export function keepingAnAdmin<T>(db: Db, change: (trx: Db) => Promise<T>): Promise<T> {
  return inTransaction(db, async (trx) => {
    const before = await countEnabledHolders(trx, ADMIN_ROLE, { lock: true });
    const result = await change(trx);
    if (before > 0 && (await countEnabledHolders(trx, ADMIN_ROLE)) === 0) throw new LastAdminError();
    return result;
  });
}

export class LastAdminError extends AppError {
  constructor() {
    super(
      'conflict',
      'that would leave no enabled user with the admin role to sign in to the console: give the role to another user first',
    );
  }
}
