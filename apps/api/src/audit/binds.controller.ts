import { Controller, Get, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { AuditLog, type BindReport, bindsOf, parseEventFilter } from '@cyborg/audit';
import { Policy } from '@cyborg/policy';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';
import { projectOfRead } from './project-scope';

const ALL_PROJECTS = 'cyborg:event:get_all_projects';

/**
 * Binds from the log (an extension): each `ArqBindStarted` paired with the
 * `ArqBound`, `ArqBindFailed` or interrupting unbind that ended it, the
 * latency between them, outcomes, and binds ended per minute. Read from the
 * events, so guarded and scoped exactly as `GET /v2/events`: a project sees
 * its own ARQs' binds; `since`, `until` (default the last hour), `hostname`.
 */
@Controller('v2/binds')
@Versioned()
export class BindsController {
  constructor(
    private readonly log: AuditLog,
    private readonly policy: Policy,
  ) {}

  @Authorize('cyborg:event:get_all')
  @Get()
  async list(@Req() request: Request, @Query() query: Record<string, unknown>): Promise<BindReport> {
    const params = strictQuery(query, ['since', 'until', 'project_id', 'hostname']);
    const scope = projectOfRead(this.policy, ALL_PROJECTS, callerFrom(request), params.project_id);
    return auditRead(async () => {
      const filter = parseEventFilter({
        ...params,
        since: params.since ?? new Date(Date.now() - 3600_000).toISOString(),
      });
      if (!scope.allProjects) filter.visibleToProject = scope.projectId;
      return bindsOf(this.log, filter);
    });
  }
}
