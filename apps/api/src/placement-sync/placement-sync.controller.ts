import { Controller, ForbiddenException, Get, NotFoundException, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import { type HostSyncStatus, PlacementSyncStatusStore } from '@cyborg/placement';
import { callerFrom, isAdmin } from '../http/caller';
import { Versioned } from '../http/microversion';
import { strictQuery } from '../http/query';

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

  @Get()
  async list(@Req() request: Request, @Query() query: Record<string, unknown>): Promise<{ hosts: HostSyncStatus[] }> {
    this.requireAdmin(request);
    const { hostname } = strictQuery(query, ['hostname']);
    return { hosts: await this.statuses.list(hostname ? hostname.split(',') : undefined) };
  }

  @Get(':hostname')
  async get(@Req() request: Request, @Param('hostname') hostname: string): Promise<HostSyncStatus> {
    this.requireAdmin(request);
    const status = await this.statuses.get(hostname);
    if (!status) throw new NotFoundException(`No Placement sync status for host ${hostname}`);
    return status;
  }

  private requireAdmin(request: Request): void {
    if (!isAdmin(callerFrom(request))) {
      throw new ForbiddenException('Access was denied to the following resource: placement_sync:get');
    }
  }
}
