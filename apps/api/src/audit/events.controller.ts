import { Controller, Get, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { type AuditEvent, AuditLog, EVENT_FILTER_PARAMS, parseEventFilter, readEvents } from '@cyborg/audit';
import { Policy } from '@cyborg/policy';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { MAX_PAGE_SIZE, PAGING_PARAMS, pagingOf } from '../http/paging';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';
import { projectOfRead } from './project-scope';

const ALL_PROJECTS = 'cyborg:event:get_all_projects';

/**
 * The event log for operators (an extension; upstream keeps no history):
 * events in log order, upcast to their current schema, with who and why.
 * Filters as `cyborg events`; pages by `limit` (at most 1000, the default)
 * and `marker` (the `event_id` of the last event of the previous page).
 * The admin reads the whole log; anyone else who may read events sees only
 * those of its own project's ARQs.
 */
@Controller('v2/events')
@Versioned()
export class EventsController {
  constructor(
    private readonly log: AuditLog,
    private readonly policy: Policy,
  ) {}

  @Authorize('cyborg:event:get_all')
  @Get()
  async list(@Req() request: Request, @Query() query: Record<string, unknown>): Promise<{ events: AuditEvent[] }> {
    const { limit, marker, ...params } = strictQuery(query, [...EVENT_FILTER_PARAMS, ...PAGING_PARAMS]);
    const { page, rawMarker } = pagingOf({ limit, marker });
    const scope = projectOfRead(this.policy, ALL_PROJECTS, callerFrom(request), params.project_id);
    return auditRead(async () => {
      const filter = parseEventFilter(params);
      if (!scope.allProjects) filter.visibleToProject = scope.projectId;
      const read = await readEvents(this.log, filter, { limit: page.limit ?? MAX_PAGE_SIZE, marker: page.marker });
      return { events: read.events };
    }, rawMarker);
  }
}
