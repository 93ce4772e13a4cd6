/**
 * Two admins removing each other at the same moment (server/admin-api/last-admin.ts): one goes,
 * the other is refused. PostgreSQL only, where the two transactions really overlap; the embedded
 * database runs them one after the other whatever the guard does.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import { countEnabledHolders, setUserRoles } from '../../db/repositories/roles.ts';
import { insertUser } from '../../db/repositories/users.ts';
import { keepingAnAdmin } from '../../server/admin-api/last-admin.ts';
import { openTestDb } from '../support/database.ts';

let db: Db;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ db, close } = await openTestDb({ migrated: true }));
  for (const id of ['ada', 'grace']) {
    await insertUser(db, { id, email: `${id}@example.test` });
    await setUserRoles(db, id, ['role_admin']);
  }
});

afterAll(async () => {
  await close?.();
});

it('lets only one of two admins removing each other at the same moment go', async () => {
  // Each takes the role away, then waits (up to a bound) until the other has too, so that both
  // count what is left at the same moment: without the lock each would count the other.
  let removed = 0;
  let release = () => {};
  const both = new Promise<void>((resolve) => {
    release = resolve;
    setTimeout(resolve, 1_000);
  });
  const outcomes = await Promise.allSettled(
    ['ada', 'grace'].map((id) =>
      keepingAnAdmin(db, async (trx) => {
        await setUserRoles(trx, id, []);
        if (++removed === 2) release();
        await both;
      }),
    ),
  );
  expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
  const refused = outcomes.find((o) => o.status === 'rejected');
  expect(String(refused?.reason)).toContain('no enabled user with the admin role');
  expect(await countEnabledHolders(db, 'admin')).toBe(1);
});
