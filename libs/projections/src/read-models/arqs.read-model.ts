import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { canSee, type DeviceHealthReasonV1, type ProjectVisibility } from '@cyborg/contracts';
import { type PageRequest, pageSql } from './page';

export interface ArqView {
  uuid: string;
  state: string;
  deviceProfileName: string;
  deviceProfileGroupId: number;
  projectId: string | null;
  hostname: string | null;
  deviceRpUuid: string | null;
  instanceUuid: string | null;
  /** The handle held or allocated; the API shows it only once Bound, as Cyborg does. */
  attachHandleUuid: string | null;
  attachHandleType: string | null;
  /** The driver's attach info JSON string. */
  attachHandleInfo: string | null;
  /** Why the last bind failed; not part of Cyborg's representation. */
  bindFailure: string | null;
  /** The health of the device whose handle it holds, once that device was not healthy; null: nothing reported. */
  deviceHealth: string | null;
  deviceHealthReasons: DeviceHealthReasonV1[];
  createdAt: Date;
  updatedAt: Date | null;
}

/** Whose ARQs a caller sees (Cyborg §5.7): the one rule, `visibilityOf` in contracts. */
export type ArqVisibility = ProjectVisibility;

export interface ArqFilter {
  instanceUuid?: string;
  /** Only ARQs in one of these states. */
  states?: readonly string[];
}

interface Row {
  uuid: string;
  state: string;
  device_profile_name: string;
  device_profile_group_id: number;
  project_id: string | null;
  hostname: string | null;
  device_rp_uuid: string | null;
  instance_uuid: string | null;
  attach_handle_uuid: string | null;
  attach_handle_type: string | null;
  attach_handle_info: string | null;
  bind_failure: string | null;
  device_health: string | null;
  device_health_reasons: DeviceHealthReasonV1[] | null;
  created_at: Date;
  updated_at: Date | null;
}

const COLUMNS = `uuid, state, device_profile_name, device_profile_group_id, project_id, hostname, device_rp_uuid,
  instance_uuid, attach_handle_uuid, attach_handle_type, attach_handle_info, bind_failure, device_health, device_health_reasons,
  created_at, updated_at`;

/** Queries on the `arqs` read model, for the API; every query applies the caller's visibility. */
@Injectable()
export class ArqsReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /** In creation order (Cyborg: ascending internal id), which pages follow; a marker must be visible too. */
  async list(visibility: ArqVisibility, filter: ArqFilter = {}, page: PageRequest = {}): Promise<ArqView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    // canSee in SQL: a NULL project never equals the caller's, so project-less ARQs stay the admins'.
    if (!visibility.allProjects) {
      params.push(visibility.projectId);
      where.push(`project_id = $${params.length}`);
    }
    if (filter.instanceUuid !== undefined) {
      params.push(filter.instanceUuid);
      where.push(`instance_uuid = $${params.length}`);
    }
    if (filter.states !== undefined) {
      params.push(filter.states);
      where.push(`state = ANY($${params.length}::text[])`);
    }
    const scope = visibility.allProjects ? undefined : { sql: 'project_id = $1', params: [visibility.projectId] };
    const paged = await pageSql(this.dataSource, page, { name: 'arqs', orderColumn: 'id', scope }, params);
    if (paged.after) where.push(paged.after);
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM arqs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id ${paged.limit}`,
      params,
    );
    return rows.map(toView);
  }

  /** The visible ones of `uuids`, in creation order. */
  async byUuids(uuids: readonly string[], visibility: ArqVisibility): Promise<ArqView[]> {
    if (uuids.length === 0) return [];
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM arqs WHERE uuid = ANY($1::uuid[]) ORDER BY id`,
      [uuids],
    );
    return rows.filter((row) => canSee(visibility, row.project_id)).map(toView);
  }

  async byUuid(uuid: string, visibility: ArqVisibility): Promise<ArqView | null> {
    const rows: Row[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM arqs WHERE uuid = $1`, [uuid]);
    const row = rows[0];
    if (!row || !canSee(visibility, row.project_id)) return null;
    return toView(row);
  }
}

function toView(row: Row): ArqView {
  return {
    uuid: row.uuid,
    state: row.state,
    deviceProfileName: row.device_profile_name,
    deviceProfileGroupId: row.device_profile_group_id,
    projectId: row.project_id,
    hostname: row.hostname,
    deviceRpUuid: row.device_rp_uuid,
    instanceUuid: row.instance_uuid,
    attachHandleUuid: row.attach_handle_uuid,
    attachHandleType: row.attach_handle_type,
    attachHandleInfo: row.attach_handle_info,
    bindFailure: row.bind_failure,
    deviceHealth: row.device_health,
    deviceHealthReasons: row.device_health_reasons ?? [],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
