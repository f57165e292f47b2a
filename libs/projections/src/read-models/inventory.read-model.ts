import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { DeviceHealthReasonV1 } from '@cyborg/contracts';
import { type PageRequest, pageSql } from './page';

export interface DeviceView {
  /** Cyborg's integer id (a deployable's `device_id`). */
  id: number;
  uuid: string;
  hostname: string;
  type: string;
  vendor: string;
  model: string;
  stdBoardInfo: string | null;
  vendorBoardInfo: string | null;
  status: string;
  draining: boolean;
  /** `healthy`, `degraded` or `unhealthy`, as the driver last reported. */
  health: string;
  healthReasons: DeviceHealthReasonV1[];
  /** Takes no new binds: unhealthy, or recovered under a sticky fence. */
  fenced: boolean;
  createdAt: Date;
  updatedAt: Date | null;
}

export interface DeployableView {
  id: number;
  uuid: string;
  hostname: string;
  name: string;
  parentId: number | null;
  rootId: number | null;
  parentUuid: string | null;
  rootUuid: string | null;
  numAccelerators: number;
  deviceId: number | null;
  deviceUuid: string;
  rpUuid: string;
  driverName: string | null;
  bitstreamId: string | null;
  draining: boolean;
  /** In the order they were added, as Cyborg lists them in `attributes_list`. */
  attributes: { key: string; value: string }[];
  createdAt: Date;
  updatedAt: Date | null;
}

export interface AttributeView {
  id: number;
  uuid: string;
  deployableId: number | null;
  deployableUuid: string;
  /** The host whose stream records the attribute. */
  hostname: string;
  key: string;
  value: string;
  source: 'agent' | 'api';
  createdAt: Date;
  updatedAt: Date | null;
}

export interface DeviceFilter {
  type?: string;
  vendor?: string;
  hostname?: string;
}

export interface DeployableFilter {
  name?: string;
  hostname?: string;
  limit?: number;
}

export interface AttributeFilter {
  deployableId?: number;
  key?: string;
}

interface DeviceRow {
  id: string;
  uuid: string;
  hostname: string;
  type: string;
  vendor: string;
  model: string;
  std_board_info: string | null;
  vendor_board_info: string | null;
  status: string;
  draining: boolean;
  health: string;
  health_reasons: DeviceHealthReasonV1[];
  fenced: boolean;
  created_at: Date;
  updated_at: Date | null;
}

interface DeployableRow {
  id: string;
  uuid: string;
  hostname: string;
  name: string;
  parent_id: string | null;
  root_id: string | null;
  parent_uuid: string | null;
  root_uuid: string | null;
  num_accelerators: number;
  device_id: string | null;
  device_uuid: string;
  rp_uuid: string;
  driver_name: string | null;
  bitstream_id: string | null;
  draining: boolean;
  attributes: { key: string; value: string }[];
  created_at: Date;
  updated_at: Date | null;
}

interface AttributeRow {
  id: string;
  uuid: string;
  deployable_id: string | null;
  deployable_uuid: string;
  hostname: string;
  key: string;
  value: string;
  source: 'agent' | 'api';
  created_at: Date;
  updated_at: Date | null;
}

const DEVICE_COLUMNS = `id, uuid, hostname, type, vendor, model, std_board_info, vendor_board_info, status, draining,
  health, health_reasons, fenced, created_at, updated_at`;

const DEPLOYABLE_COLUMNS = `d.id, d.uuid, d.hostname, d.name, d.parent_id, d.root_id, d.parent_uuid, d.root_uuid,
  d.num_accelerators, d.device_id, d.device_uuid, d.rp_uuid, d.driver_name, d.bitstream_id, d.draining,
  d.created_at, d.updated_at,
  COALESCE((SELECT json_agg(json_build_object('key', a.key, 'value', a.value) ORDER BY a.id)
            FROM attributes a WHERE a.deployable_uuid = d.uuid), '[]'::json) AS attributes`;

const ATTRIBUTE_COLUMNS =
  'id, uuid, deployable_id, deployable_uuid, hostname, key, value, source, created_at, updated_at';

/**
 * Queries on the inventory read models, for the API. Lists are in Cyborg's
 * id order (never reused: ids are log positions), which paging follows.
 */
@Injectable()
export class InventoryReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /** Exact-match filters, combined with AND. */
  async listDevices(filter: DeviceFilter = {}, page: PageRequest = {}): Promise<DeviceView[]> {
    const where = conditions({ type: filter.type, vendor: filter.vendor, hostname: filter.hostname });
    const paged = await pageSql(this.dataSource, page, { name: 'devices', orderColumn: 'id' }, where.params);
    const rows: DeviceRow[] = await this.dataSource.query(
      `SELECT ${DEVICE_COLUMNS} FROM devices ${whereOf(where.parts, paged.after)} ORDER BY id ${paged.limit}`,
      where.params,
    );
    return rows.map(toDevice);
  }

  async deviceByUuid(uuid: string): Promise<DeviceView | null> {
    const rows: DeviceRow[] = await this.dataSource.query(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE uuid = $1`, [
      uuid,
    ]);
    return rows[0] ? toDevice(rows[0]) : null;
  }

  /** `filter.limit` (upstream's legacy filter) and `page.limit` both apply: the smaller wins. */
  async listDeployables(filter: DeployableFilter = {}, page: PageRequest = {}): Promise<DeployableView[]> {
    const where = conditions({ 'd.name': filter.name, 'd.hostname': filter.hostname });
    const limits = [filter.limit, page.limit].filter((n): n is number => n !== undefined);
    const paged = await pageSql(
      this.dataSource,
      { marker: page.marker, limit: limits.length ? Math.min(...limits) : undefined },
      { name: 'deployables', orderColumn: 'id' },
      where.params,
      'd.id',
    );
    const rows: DeployableRow[] = await this.dataSource.query(
      `SELECT ${DEPLOYABLE_COLUMNS} FROM deployables d ${whereOf(where.parts, paged.after)} ORDER BY d.id ${paged.limit}`,
      where.params,
    );
    return rows.map(toDeployable);
  }

  /** By Cyborg's integer id (`deployable_id` of an attribute). */
  async deployableById(id: number): Promise<DeployableView | null> {
    const rows: DeployableRow[] = await this.dataSource.query(
      `SELECT ${DEPLOYABLE_COLUMNS} FROM deployables d WHERE d.id = $1`,
      [id],
    );
    return rows[0] ? toDeployable(rows[0]) : null;
  }

  async deployableByUuid(uuid: string): Promise<DeployableView | null> {
    const rows: DeployableRow[] = await this.dataSource.query(
      `SELECT ${DEPLOYABLE_COLUMNS} FROM deployables d WHERE d.uuid = $1`,
      [uuid],
    );
    return rows[0] ? toDeployable(rows[0]) : null;
  }

  async listAttributes(filter: AttributeFilter = {}, page: PageRequest = {}): Promise<AttributeView[]> {
    const where = conditions({ deployable_id: filter.deployableId, key: filter.key });
    const paged = await pageSql(this.dataSource, page, { name: 'attributes', orderColumn: 'id' }, where.params);
    const rows: AttributeRow[] = await this.dataSource.query(
      `SELECT ${ATTRIBUTE_COLUMNS} FROM attributes ${whereOf(where.parts, paged.after)} ORDER BY id ${paged.limit}`,
      where.params,
    );
    return rows.map(toAttribute);
  }

  async attributeByUuid(uuid: string): Promise<AttributeView | null> {
    const rows: AttributeRow[] = await this.dataSource.query(
      `SELECT ${ATTRIBUTE_COLUMNS} FROM attributes WHERE uuid = $1`,
      [uuid],
    );
    return rows[0] ? toAttribute(rows[0]) : null;
  }
}

/** `a = $1`, `b = $2` for the given values; column names are ours, never the caller's. */
function conditions(values: Record<string, string | number | undefined>): { parts: string[]; params: unknown[] } {
  const params: unknown[] = [];
  const parts: string[] = [];
  for (const [column, value] of Object.entries(values)) {
    if (value === undefined) continue;
    params.push(value);
    parts.push(`${column} = $${params.length}`);
  }
  return { parts, params };
}

/** `WHERE` with every condition given, or nothing. */
function whereOf(parts: readonly string[], ...more: (string | null)[]): string {
  const all = [...parts, ...more.filter((p): p is string => p !== null)];
  return all.length ? `WHERE ${all.join(' AND ')}` : '';
}

const int = (value: string | null): number | null => (value === null ? null : Number(value));

function toDevice(row: DeviceRow): DeviceView {
  return {
    id: Number(row.id),
    uuid: row.uuid,
    hostname: row.hostname,
    type: row.type,
    vendor: row.vendor,
    model: row.model,
    stdBoardInfo: row.std_board_info,
    vendorBoardInfo: row.vendor_board_info,
    status: row.status,
    draining: row.draining,
    health: row.health,
    healthReasons: row.health_reasons,
    fenced: row.fenced,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toDeployable(row: DeployableRow): DeployableView {
  return {
    id: Number(row.id),
    uuid: row.uuid,
    hostname: row.hostname,
    name: row.name,
    parentId: int(row.parent_id),
    rootId: int(row.root_id),
    parentUuid: row.parent_uuid,
    rootUuid: row.root_uuid,
    numAccelerators: row.num_accelerators,
    deviceId: int(row.device_id),
    deviceUuid: row.device_uuid,
    rpUuid: row.rp_uuid,
    driverName: row.driver_name,
    bitstreamId: row.bitstream_id,
    draining: row.draining,
    attributes: row.attributes,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toAttribute(row: AttributeRow): AttributeView {
  return {
    id: Number(row.id),
    uuid: row.uuid,
    deployableId: int(row.deployable_id),
    deployableUuid: row.deployable_uuid,
    hostname: row.hostname,
    key: row.key,
    value: row.value,
    source: row.source,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
