import type { CyborgEvent } from '@cyborg/contracts';
import { DeployableAdded, DeviceAdded, Streams } from '@cyborg/contracts';
import type { RecordedEvent } from '@cyborg/event-store';
import type { AuditLog } from './audit-log';
import type { Moment } from './moments';

/**
 * The host streams that ever held a device or deployable. Devices and
 * deployables live on `host-<hostname>`; their uuid is in the Added event's data.
 */
export async function hostsHolding(log: AuditLog, kind: 'device' | 'deployable', uuid: string): Promise<string[]> {
  const type = kind === 'device' ? DeviceAdded.type : DeployableAdded.type;
  const rows = await log.rows<{ stream_id: string }>(
    `SELECT stream_id FROM events WHERE category = 'host' AND type = $1 AND data->>'uuid' = $2
     GROUP BY stream_id ORDER BY min(position)`,
    [type, uuid],
  );
  return rows.map((r) => r.stream_id.slice('host-'.length));
}

export const readHostStream = (log: AuditLog, hostname: string) => log.readStream(Streams.host(hostname));

/**
 * The events of one stream as they stood at a moment: the longest prefix (in
 * version order) of events at or before it. A prefix, so a state is always one
 * the stream really passed through.
 */
export function upTo(events: readonly RecordedEvent<CyborgEvent>[], moment: Moment): RecordedEvent<CyborgEvent>[] {
  const out: RecordedEvent<CyborgEvent>[] = [];
  for (const event of events) {
    const after = moment.kind === 'time' ? event.occurredAt > moment.at : event.position > moment.position;
    if (after) break;
    out.push(event);
  }
  return out;
}

/** The log's order: (transaction id, position). */
export function compareLogOrder(a: RecordedEvent<CyborgEvent>, b: RecordedEvent<CyborgEvent>): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  return ta !== tb ? (ta < tb ? -1 : 1) : a.position - b.position;
}
