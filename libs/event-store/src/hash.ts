import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every depth. PostgreSQL's jsonb reorders
 * keys, so a hash must be taken over a form that survives the round trip.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export interface HashedContent {
  eventId: string;
  streamId: string;
  version: number;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
  occurredAt: Date;
  prevHash: string | null;
}

/** The chain link: covers the previous event's hash and this event's whole content. */
export function eventHash(e: HashedContent): string {
  return createHash('sha256')
    .update(
      canonicalJson({
        eventId: e.eventId,
        streamId: e.streamId,
        version: e.version,
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data,
        metadata: e.metadata,
        occurredAt: e.occurredAt.toISOString(),
        prevHash: e.prevHash,
      }),
    )
    .digest('hex');
}
