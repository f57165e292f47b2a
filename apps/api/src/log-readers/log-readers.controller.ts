import type { CyborgEvent } from '@cyborg/contracts';
import { cyborgTimestamp } from '@cyborg/contracts';
import { Controller, Get, Query } from '@nestjs/common';
import { EventStore, logReadersStatus } from '@cyborg/event-store';
import { Projections } from '@cyborg/projections';
import { Versioned } from '../http/microversion';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';

const at = (value: Date | null) => (value ? cyborgTimestamp(value) : null);

/**
 * Where every reader of the log stands (an extension): the read models'
 * projections (active instance, rebuild, last error) and the JetStream relay
 * and other processors, each with its position and lag behind the head. Admin only.
 */
@Controller('v2/log_readers')
@Versioned()
export class LogReadersController {
  constructor(
    private readonly store: EventStore<CyborgEvent>,
    private readonly projections: Projections,
  ) {}

  @Authorize('cyborg:log_reader:get_all')
  @Get()
  async list(@Query() query: Record<string, unknown>) {
    strictQuery(query, []);
    const [report, projections] = await Promise.all([logReadersStatus(this.store), this.projections.status()]);
    const byCheckpoint = new Map(projections.map((p) => [p.name, p]));
    return {
      head: { position: report.head.position, occurred_at: at(report.head.occurredAt) },
      readers: report.readers.map((r) => {
        const projection = byCheckpoint.get(r.name);
        return {
          name: r.name,
          kind: projection ? 'projection' : r.name.startsWith('relay:') ? 'relay' : 'processor',
          position: r.position,
          lag: r.lag,
          lag_seconds: r.lagSeconds,
          events_handled: r.eventsHandled,
          active: projection?.active ?? null,
          rebuilding: projection?.rebuilding ?? null,
          updated_at: at(r.updatedAt),
          last_error: r.lastError,
          last_error_at: at(r.lastErrorAt),
        };
      }),
    };
  }
}
