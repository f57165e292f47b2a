import type { CyborgEvent } from '@cyborg/contracts';
import { Controller, Get, Query } from '@nestjs/common';
import { type AuditEvent, EVENT_FILTER_PARAMS, parseEventFilter, readEvents } from '@cyborg/audit';
import { EventStore } from '@cyborg/event-store';
import { Versioned } from '../http/microversion';
import { MAX_PAGE_SIZE, PAGING_PARAMS, pagingOf } from '../http/paging';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';

/**
 * The event log for operators (an extension; upstream keeps no history):
 * events in log order, upcast to their current schema, with who and why.
 * Filters as `cyborg events`; pages by `limit` (at most 1000, the default)
 * and `marker` (the `event_id` of the last event of the previous page).
 */
@Controller('v2/events')
@Versioned()
export class EventsController {
  constructor(private readonly store: EventStore<CyborgEvent>) {}

  @Authorize('cyborg:audit:read')
  @Get()
  async list(@Query() query: Record<string, unknown>): Promise<{ events: AuditEvent[] }> {
    const { limit, marker, ...params } = strictQuery(query, [...EVENT_FILTER_PARAMS, ...PAGING_PARAMS]);
    const { page, rawMarker } = pagingOf({ limit, marker });
    return auditRead(async () => {
      const filter = parseEventFilter(params);
      const read = await readEvents(this.store, filter, { limit: page.limit ?? MAX_PAGE_SIZE, marker: page.marker });
      return { events: read.events };
    }, rawMarker);
  }
}
