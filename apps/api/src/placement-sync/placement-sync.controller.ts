import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { type HostSyncStatus, PlacementSyncStatusStore } from '@cyborg/placement';
import { Versioned } from '../http/microversion';
import { strictQuery } from '../http/query';
import { Authorize } from '../http/policy.guard';

/**
 * Where placement-sync stands for each host (an extension; upstream has no
 * such view): the last stream version synced to Placement, the last error
 * with Placement's request id, the providers still draining. Admin only.
 */
@Controller(['v2/placement_sync', 'placement_sync'])
@Versioned()
export class PlacementSyncController {
  private readonly statuses: PlacementSyncStatusStore;

  constructor(dataSource: DataSource) {
    this.statuses = new PlacementSyncStatusStore(dataSource);
  }

  @Authorize('cyborg:placement_sync:get')
  @Get()
  async list(@Query() query: Record<string, unknown>): Promise<{ hosts: HostSyncStatus[] }> {
    const { hostname } = strictQuery(query, ['hostname']);
    return { hosts: await this.statuses.list(hostname ? hostname.split(',') : undefined) };
  }

  @Authorize('cyborg:placement_sync:get')
  @Get(':hostname')
  async get(@Param('hostname') hostname: string): Promise<HostSyncStatus> {
    const status = await this.statuses.get(hostname);
    if (!status) throw new NotFoundException(`No Placement sync status for host ${hostname}`);
    return status;
  }
}
