import { createHash } from 'node:crypto';

/**
 * The hash that chains audit events. Each event's hash covers its id, time, every field and the
 * previous event's hash, so editing, removing or reordering a row breaks the chain from there on.
 * The encoding is stored data: changing it means a new version and a migration.
 */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedContent {
  id: string;
  at: Date;
  type: string;
  user_id: string | null;
  client_id: string | null;
  actor: string | null;
  ip: string | null;
  user_agent: string | null;
  details: unknown;
}

export function hashAuditEvent(prevHash: string, event: ChainedContent): string {
  const content = [
    1,
    prevHash,
    event.id,
    event.at.toISOString(),
    event.type,
    event.user_id,
    event.client_id,
    event.actor,
    event.ip,
    event.user_agent,
    sortedKeys(event.details),
  ];
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

// jsonb keeps its own key order, so the details are hashed with their keys sorted.
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
  );
}
