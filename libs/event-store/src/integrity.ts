import type { DataSource } from 'typeorm';
import { eventHash } from './hash';

export interface ChainBreak {
  streamId: string;
  version: number;
  position: number;
  eventId: string;
  problem: string;
}

export interface VerifyResult {
  streams: number;
  events: number;
  breaks: ChainBreak[];
}

interface Row {
  stream_id: string;
  version: string;
  position: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  occurred_at: Date;
  prev_hash: string | null;
  hash: string;
}

/**
 * Checks every stream's hash chain and version sequence (DESIGN invariant 7),
 * reporting the first broken event of each broken stream. Reads stored rows
 * as written: upcasting is a read-time view and is not part of the chain.
 */
export interface VerifyProgress {
  events: number;
  streams: number;
  /** Events the streams table counts: what the whole check will read. */
  total: number;
}

export async function verifyEventLog(
  dataSource: DataSource,
  options: { batchSize?: number; onProgress?: (progress: VerifyProgress) => void } = {},
): Promise<VerifyResult> {
  const batchSize = options.batchSize ?? 5000;
  const result: VerifyResult = { streams: 0, events: 0, breaks: [] };
  let cursor: [string, number] = ['', 0];
  let stream = '';
  let expectedVersion = 1;
  let prevHash: string | null = null;
  let broken = false;
  const streamVersions = new Map<string, number>(
    (await dataSource.query(`SELECT stream_id, version FROM streams`)).map(
      (r: { stream_id: string; version: string }) => [r.stream_id, Number(r.version)],
    ),
  );
  let total = 0;
  for (const version of streamVersions.values()) total += version;
  const finishStream = () => {
    if (!stream) return;
    const recorded = streamVersions.get(stream);
    if (!broken && recorded !== expectedVersion - 1) {
      result.breaks.push({
        streamId: stream,
        version: expectedVersion - 1,
        position: 0,
        eventId: '',
        problem: `stream table says version ${recorded ?? 'missing'}, the log holds ${expectedVersion - 1} events`,
      });
    }
    streamVersions.delete(stream);
  };
  for (;;) {
    const rows: Row[] = await dataSource.query(
      `SELECT stream_id, version, position, event_id, type, schema_version, data, metadata, occurred_at, prev_hash, hash
       FROM events WHERE (stream_id, version) > ($1, $2) ORDER BY stream_id, version LIMIT $3`,
      [cursor[0], cursor[1], batchSize],
    );
    for (const r of rows) {
      const version = Number(r.version);
      if (r.stream_id !== stream) {
        finishStream();
        stream = r.stream_id;
        expectedVersion = 1;
        prevHash = null;
        broken = false;
        result.streams++;
      }
      result.events++;
      if (!broken) {
        const at = { streamId: r.stream_id, version, position: Number(r.position), eventId: r.event_id };
        const problem =
          version !== expectedVersion
            ? `version ${version} follows ${expectedVersion - 1}`
            : r.prev_hash !== prevHash
              ? 'previous hash does not match the previous event'
              : eventHash({
                    eventId: r.event_id,
                    streamId: r.stream_id,
                    version,
                    type: r.type,
                    schemaVersion: r.schema_version,
                    data: r.data,
                    metadata: r.metadata,
                    occurredAt: r.occurred_at,
                    prevHash: r.prev_hash,
                  }) !== r.hash
                ? 'content does not match its hash'
                : null;
        if (problem) {
          result.breaks.push({ ...at, problem });
          broken = true;
        }
      }
      expectedVersion = version + 1;
      prevHash = r.hash;
    }
    options.onProgress?.({ events: result.events, streams: result.streams, total: Math.max(total, result.events) });
    if (rows.length < batchSize) break;
    const last = rows[rows.length - 1];
    cursor = [last.stream_id, Number(last.version)];
  }
  finishStream();
  for (const [streamId, version] of streamVersions) {
    if (version > 0) {
      result.breaks.push({ streamId, version, position: 0, eventId: '', problem: 'stream has no events in the log' });
    }
  }
  return result;
}
