import type { CyborgEvent } from '@cyborg/contracts';
import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { type History, type HistoryKind, historyOf } from '@cyborg/audit';
import { EventStore } from '@cyborg/event-store';
import { Versioned } from '../http/microversion';
import { uuidPathParam } from '../http/path-uuid';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';

/**
 * The timeline of one ARQ, device or host from the log: every change with
 * who, when, why and which fields changed (as `cyborg history`). Two path
 * segments after the collection, so no ARQ or device route takes them.
 */
@Controller('v2')
@Versioned()
export class HistoryController {
  constructor(private readonly store: EventStore<CyborgEvent>) {}

  @Authorize('cyborg:audit:read')
  @Get('accelerator_requests/:uuid/history')
  arq(@Param('uuid') value: string, @Query() query: Record<string, unknown>): Promise<History> {
    strictQuery(query, []);
    return this.history('arq', uuidPathParam(value), `ExtArq not found with uuid=${value}`);
  }

  @Authorize('cyborg:audit:read')
  @Get('devices/:uuid/history')
  device(@Param('uuid') value: string, @Query() query: Record<string, unknown>): Promise<History> {
    strictQuery(query, []);
    return this.history('device', uuidPathParam(value), `Device not found with uuid=${value}`);
  }

  @Authorize('cyborg:audit:read')
  @Get('hosts/:hostname/history')
  host(@Param('hostname') hostname: string, @Query() query: Record<string, unknown>): Promise<History> {
    strictQuery(query, []);
    return this.history('host', hostname, `Host ${hostname} not found`);
  }

  private async history(kind: HistoryKind, id: string, notFound: string): Promise<History> {
    const history = await auditRead(() => historyOf(this.store, kind, id));
    if (!history) throw new NotFoundException(notFound);
    return history;
  }
}
