import type { DataSource } from 'typeorm';
import type { HostSyncStatus } from '../sync/placement-sync-engine';

/** The `placement_sync_status` table: one row per host, written by placement-sync, read by the API. */
export class PlacementSyncStatusStore {
  constructor(private readonly dataSource: DataSource) {}

  async save(status: HostSyncStatus): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO placement_sync_status AS s (hostname, state, compute_node_uuid, stream_version, synced_version,
         synced_sequence, providers, draining_providers, last_error, last_error_request_id, last_error_at,
         last_synced_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
       ON CONFLICT (hostname) DO UPDATE SET state = $2, compute_node_uuid = $3, stream_version = $4,
         synced_version = $5, synced_sequence = $6, providers = $7, draining_providers = $8, last_error = $9,
         last_error_request_id = $10, last_error_at = $11, last_synced_at = $12, updated_at = now()`,
      [
        status.hostname,
        status.state,
        status.computeNodeUuid,
        status.streamVersion,
        status.syncedVersion,
        status.syncedSequence,
        status.providers,
        JSON.stringify(status.drainingProviders),
        status.lastError?.slice(0, 4000) ?? null,
        status.lastErrorRequestId,
        status.lastErrorAt,
        status.lastSyncedAt,
      ],
    );
  }

  async get(hostname: string): Promise<HostSyncStatus | null> {
    return (await this.list([hostname]))[0] ?? null;
  }

  /** Every host's status, or those named. */
  async list(hostnames?: string[]): Promise<HostSyncStatus[]> {
    const rows: StatusRow[] = await this.dataSource.query(
      `SELECT * FROM placement_sync_status ${hostnames ? 'WHERE hostname = ANY($1)' : ''} ORDER BY hostname`,
      hostnames ? [hostnames] : [],
    );
    return rows.map((r) => ({
      hostname: r.hostname,
      state: r.state,
      computeNodeUuid: r.compute_node_uuid,
      streamVersion: r.stream_version,
      syncedVersion: r.synced_version,
      syncedSequence: r.synced_sequence === null ? null : Number(r.synced_sequence),
      providers: r.providers,
      drainingProviders: r.draining_providers,
      lastError: r.last_error,
      lastErrorRequestId: r.last_error_request_id,
      lastErrorAt: r.last_error_at,
      lastSyncedAt: r.last_synced_at,
    }));
  }
}

interface StatusRow {
  hostname: string;
  state: HostSyncStatus['state'];
  compute_node_uuid: string | null;
  stream_version: number;
  synced_version: number | null;
  synced_sequence: string | null;
  providers: number;
  draining_providers: HostSyncStatus['drainingProviders'];
  last_error: string | null;
  last_error_request_id: string | null;
  last_error_at: Date | null;
  last_synced_at: Date | null;
}
