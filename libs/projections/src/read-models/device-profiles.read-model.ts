import { Injectable } from '@nestjs/common';
import type { DeviceProfileGroup } from '@cyborg/contracts';
import { DataSource } from 'typeorm';
import { type PageRequest, pageSql } from './page';

export interface DeviceProfileView {
  uuid: string;
  name: string;
  description: string | null;
  groups: DeviceProfileGroup[];
  createdAt: Date;
  updatedAt: Date | null;
}

interface Row {
  uuid: string;
  name: string;
  description: string | null;
  groups: DeviceProfileGroup[];
  created_at: Date;
  updated_at: Date | null;
}

const COLUMNS = 'uuid, name, description, groups, created_at, updated_at';

/** Queries on the `device_profiles` read model, for the API. */
@Injectable()
export class DeviceProfilesReadModel {
  constructor(private readonly dataSource: DataSource) {}

  /** In creation order, as Cyborg lists them (and pages follow); `names` keeps only those exact names. */
  async list(names?: readonly string[], page: PageRequest = {}): Promise<DeviceProfileView[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (names) {
      params.push(names);
      where.push(`name = ANY($${params.length}::text[])`);
    }
    const paged = await pageSql(
      this.dataSource,
      page,
      { name: 'device_profiles', orderColumn: 'created_position' },
      params,
    );
    if (paged.after) where.push(paged.after);
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM device_profiles ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_position ${paged.limit}`,
      params,
    );
    return rows.map(toView);
  }

  async byUuid(uuid: string): Promise<DeviceProfileView | null> {
    const rows: Row[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM device_profiles WHERE uuid = $1`, [uuid]);
    return rows[0] ? toView(rows[0]) : null;
  }

  async byName(name: string): Promise<DeviceProfileView | null> {
    const rows: Row[] = await this.dataSource.query(`SELECT ${COLUMNS} FROM device_profiles WHERE name = $1`, [name]);
    return rows[0] ? toView(rows[0]) : null;
  }
}

function toView(row: Row): DeviceProfileView {
  return {
    uuid: row.uuid,
    name: row.name,
    description: row.description,
    groups: row.groups,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
