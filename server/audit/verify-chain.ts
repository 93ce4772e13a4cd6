import type { Db } from '../../db/database.ts';
import { listChainedAuditEvents, readAuditChain } from '../../db/repositories/audit-events.ts';
import { hashAuditEvent } from './chain-hash.ts';

/**
 * Walks the audit chain oldest first, in one snapshot, and names the first event that breaks it:
 * one whose content no longer matches its hash (edited), one that does not follow the event
 * before it (an event removed or the order changed), missing newest events, or events added
 * beside the chain. The walk starts from the hash the retention sweep recorded when it last cut
 * the chain (the genesis hash if it never did), so swept events do not count as removed. A
 * whole chain's newest hash is returned, for operators to keep elsewhere as an anchor.
 */
export type ChainVerdict =
  | { intact: true; events: number; first_id: string | null; last_id: string | null; last_hash: string }
  | { intact: false; id: string; problem: string };

const PAGE = 1000;

export async function verifyAuditChain(db: Db): Promise<ChainVerdict> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const head = await readAuditChain(trx);
      const sweptThrough = BigInt(head.swept_through_id ?? 0);
      let expectedPrev = head.swept_hash;
      let firstId: string | null = null;
      let lastId: string | null = null;
      let events = 0;
      const broken = (id: string, problem: string): ChainVerdict => ({ intact: false, id, problem });

      for (;;) {
        const page = await listChainedAuditEvents(trx, lastId, head.last_id ?? '0', PAGE);
        for (const event of page) {
          if (BigInt(event.id) <= sweptThrough) {
            return broken(event.id, `it is older than the retention sweep's cut (event ${head.swept_through_id})`);
          }
          if (event.prev_hash !== expectedPrev) {
            return broken(
              event.id,
              lastId
                ? `it does not follow event ${lastId}: an event between them was removed, or the order changed`
                : 'the events before it were removed (not by the retention sweep)',
            );
          }
          if (hashAuditEvent(event.prev_hash, event) !== event.hash) {
            return broken(event.id, 'it was changed: its content does not match its hash');
          }
          firstId ??= event.id;
          lastId = event.id;
          expectedPrev = event.hash;
          events++;
        }
        if (page.length < PAGE) break;
      }

      const newest = head.last_id && BigInt(head.last_id) > sweptThrough ? head.last_id : null;
      if (newest !== lastId) {
        const end = lastId ? `event ${lastId}` : 'no event';
        return broken(
          newest ?? lastId ?? '0',
          `the newest events were removed: the chain ends at ${end}, its head records event ${newest}`,
        );
      }
      if (lastId && expectedPrev !== head.last_hash) {
        return broken(lastId, 'it was replaced: its hash is not the one the chain head records');
      }
      const beside = await listChainedAuditEvents(trx, head.last_id ?? '0', '9223372036854775807', 1);
      if (beside[0]) return broken(beside[0].id, 'it was added beside the chain, not appended to it');
      return { intact: true, events, first_id: firstId, last_id: lastId, last_hash: expectedPrev };
    });
}
