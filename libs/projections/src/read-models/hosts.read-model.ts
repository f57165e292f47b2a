import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type DeployableView, type DeviceView, InventoryReadModel } from './inventory.read-model';

/** A host as operators look at it: its agent, whether it is up, and how much it holds. */
export interface HostView {
  hostname: string;
  /** False once the conductors marked it down (no heartbeat for HOST_DOWN_AFTER_MS), until it is heard again. */
  up: boolean;
  /** The last heartbeat or report any conductor heard; null when none was. */
  lastHeartbeatAt: Date | null;
  /** When it was last marked down or up; null when it never was. */
  livenessChangedAt: Date | null;
  agentVersion: string | null;
  drivers: string[];
  registeredAt: Date | null;
  devices: number;
  deployables: number;
  attachHandles: number;
  attachHandlesInUse: number;
}

export interface AttachHandleView {
  id: number;
  uuid: string;
  hostname: string;
  deployableUuid: string;
  deviceUuid: string;
  type: string;
  /** The driver's attach info JSON string. */
  info: string;
  inUse: boolean;
  /** The ARQ holding (or being bound to) it. */
  allocatedTo: string | null;
  draining: boolean;
}

/** What a host holds now: devices, their deployables, and the attach handles under them. */
export interface HostInventory {
  devices: DeviceView[];
  deployables: DeployableView[];
  attachHandles: AttachHandleView[];
}

interface HostRow {
  hostname: string;
  last_seen_at: Date | null;
  liveness: string | null;
  liveness_at: Date | null;
  agent_version: string | null;
  drivers: string[] | null;
  registered_at: Date | null;
  devices: string;
  deployables: string;
  handles: string;
  handles_in_use: string;
}

interface HandleRow {
  id: string;
  uuid: string;
  hostname: string;
  deployable_uuid: string;
  device_uuid: string;
  type: string;
  info: string;
  in_use: boolean;
  allocated_to: string | null;
  draining: boolean;
}

/** A host's row from its registration (`r`), liveness (`l`) and heartbeat (`hb`), and counts. */
const HOST_COLUMNS = `n.hostname, hb.last_seen_at, l.type AS liveness, l.occurred_at AS liveness_at,
  r.data->>'agentVersion' AS agent_version,
  ARRAY(SELECT jsonb_array_elements_text(COALESCE(r.data->'drivers', '[]'::jsonb))) AS drivers,
  r.occurred_at AS registered_at`;

/**
 * Every host, set-based: each table read once and joined by hostname (a
 * count subquery per host was a scan of `attach_handles` per host), the
 * registrations and liveness changes through their partial indexes.
 */
const ALL_HOSTS = `
  WITH named AS (
    SELECT substr(stream_id, 6) AS hostname FROM streams WHERE category = 'host'
    UNION SELECT hostname FROM host_heartbeats
  ),
  registered AS (
    SELECT DISTINCT ON (stream_id) substr(stream_id, 6) AS hostname, data, occurred_at
    FROM events WHERE category = 'host' AND type = 'HostRegistered'
    ORDER BY stream_id, version DESC
  ),
  liveness AS (
    SELECT DISTINCT ON (stream_id) substr(stream_id, 6) AS hostname, type, occurred_at
    FROM events WHERE category = 'host' AND type IN ('HostDown', 'HostUp')
    ORDER BY stream_id, version DESC
  ),
  devices_of AS (SELECT hostname, count(*) AS n FROM devices GROUP BY hostname),
  deployables_of AS (SELECT hostname, count(*) AS n FROM deployables GROUP BY hostname),
  handles_of AS (
    SELECT hostname, count(*) AS n, count(*) FILTER (WHERE in_use) AS in_use FROM attach_handles GROUP BY hostname
  )
  SELECT ${HOST_COLUMNS},
         COALESCE(dv.n, 0) AS devices, COALESCE(dp.n, 0) AS deployables,
         COALESCE(ah.n, 0) AS handles, COALESCE(ah.in_use, 0) AS handles_in_use
  FROM named n
  LEFT JOIN host_heartbeats hb ON hb.hostname = n.hostname
  LEFT JOIN registered r ON r.hostname = n.hostname
  LEFT JOIN liveness l ON l.hostname = n.hostname
  LEFT JOIN devices_of dv ON dv.hostname = n.hostname
  LEFT JOIN deployables_of dp ON dp.hostname = n.hostname
  LEFT JOIN handles_of ah ON ah.hostname = n.hostname
  ORDER BY n.hostname`;

/** One host: each part looked up through its index (the host stream's last events through the partial ones). */
const ONE_HOST = `
  WITH named AS (
    SELECT substr(stream_id, 6) AS hostname FROM streams WHERE stream_id = 'host-' || $1 AND category = 'host'
    UNION SELECT hostname FROM host_heartbeats WHERE hostname = $1
  )
  SELECT ${HOST_COLUMNS},
         (SELECT count(*) FROM devices d WHERE d.hostname = n.hostname) AS devices,
         (SELECT count(*) FROM deployables d WHERE d.hostname = n.hostname) AS deployables,
         (SELECT count(*) FROM attach_handles h WHERE h.hostname = n.hostname) AS handles,
         (SELECT count(*) FROM attach_handles h WHERE h.hostname = n.hostname AND h.in_use) AS handles_in_use
  FROM named n
  LEFT JOIN host_heartbeats hb ON hb.hostname = n.hostname
  LEFT JOIN LATERAL (
    SELECT data, occurred_at FROM events
    WHERE stream_id = 'host-' || n.hostname AND type = 'HostRegistered'
    ORDER BY version DESC LIMIT 1
  ) r ON true
  LEFT JOIN LATERAL (
    SELECT type, occurred_at FROM events
    WHERE stream_id = 'host-' || n.hostname AND type IN ('HostDown', 'HostUp')
    ORDER BY version DESC LIMIT 1
  ) l ON true`;

/**
 * Hosts for operators: the agent's registration and liveness from the host
 * stream's last `HostRegistered` and `HostDown`/`HostUp` events, the last
 * heartbeat from `host_heartbeats`, and counts from the inventory read model.
 * The log is read only where its partial indexes point (`HostListIndexes`
 * migration): registrations and liveness changes, never the hosts' other events.
 */
@Injectable()
export class HostsReadModel {
  private readonly inventory: InventoryReadModel;

  constructor(private readonly dataSource: DataSource) {
    this.inventory = new InventoryReadModel(dataSource);
  }

  /** Every host the log or a heartbeat knows, by name; `hostname` narrows to one. */
  async list(hostname?: string): Promise<HostView[]> {
    const rows: HostRow[] = await this.dataSource.query(hostname === undefined ? ALL_HOSTS : ONE_HOST, [
      ...(hostname === undefined ? [] : [hostname]),
    ]);
    return rows.map((r) => ({
      hostname: r.hostname,
      up: r.liveness !== 'HostDown',
      lastHeartbeatAt: r.last_seen_at,
      livenessChangedAt: r.liveness_at,
      agentVersion: r.agent_version,
      drivers: r.drivers ?? [],
      registeredAt: r.registered_at,
      devices: Number(r.devices),
      deployables: Number(r.deployables),
      attachHandles: Number(r.handles),
      attachHandlesInUse: Number(r.handles_in_use),
    }));
  }

  async inventoryOf(hostname: string): Promise<HostInventory> {
    const [devices, deployables, handles] = await Promise.all([
      this.inventory.listDevices({ hostname }),
      this.inventory.listDeployables({ hostname }),
      this.dataSource.query(
        `SELECT id, uuid, hostname, deployable_uuid, device_uuid, type, info, in_use, allocated_to, draining
         FROM attach_handles WHERE hostname = $1 ORDER BY id`,
        [hostname],
      ) as Promise<HandleRow[]>,
    ]);
    return {
      devices,
      deployables,
      attachHandles: handles.map((h) => ({
        id: Number(h.id),
        uuid: h.uuid,
        hostname: h.hostname,
        deployableUuid: h.deployable_uuid,
        deviceUuid: h.device_uuid,
        type: h.type,
        info: h.info,
        inUse: h.in_use,
        allocatedTo: h.allocated_to,
        draining: h.draining,
      })),
    };
  }
}
