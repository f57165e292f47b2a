import type { CyborgEvent } from '@cyborg/contracts';
import { Controller, Get, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { parseUsagePeriod, type UsageReport, usageOf } from '@cyborg/audit';
import { EventStore } from '@cyborg/event-store';
import { Policy } from '@cyborg/policy';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';
import { projectOfRead } from './project-scope';

const ALL_PROJECTS = 'cyborg:usage:get_all_projects';

/**
 * Per-project usage from the bind events (as `cyborg usage`): accelerators
 * and devices held at `until`, accelerator-hours in [since, until) by
 * resource class and device type. A project sees its own; the admin
 * (`cyborg:usage:get_all_projects`) every project, or the one `project_id` names.
 */
@Controller('v2/usage')
@Versioned()
export class UsageController {
  constructor(
    private readonly store: EventStore<CyborgEvent>,
    private readonly policy: Policy,
  ) {}

  @Authorize('cyborg:usage:get')
  @Get()
  async get(@Req() request: Request, @Query() query: Record<string, unknown>): Promise<UsageReport> {
    const { since, until, project_id: asked } = strictQuery(query, ['since', 'until', 'project_id']);
    const { projectId } = projectOfRead(this.policy, ALL_PROJECTS, callerFrom(request), asked);
    return auditRead(() => usageOf(this.store, { ...parseUsagePeriod({ since, until }), projectId }));
  }
}
