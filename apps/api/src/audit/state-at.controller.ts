import { Controller, Get, NotFoundException, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { arqProjectOf, AuditLog, historyOf, parseMoment, stateAt, type StateAt, type StateKind } from '@cyborg/audit';
import { canSee, visibilityOf } from '@cyborg/contracts';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { uuidPathParam } from '../http/path-uuid';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';

/**
 * An ARQ, device or host as it was at a moment (as `cyborg state-at`):
 * `at` is an ISO 8601 time or a log position (the event there included),
 * default now. Guarded like the history it is folded from: an ARQ's for
 * whoever sees the ARQ (another project's: 404), devices and hosts the admin's.
 */
@Controller('v2')
@Versioned()
export class StateAtController {
  constructor(private readonly log: AuditLog) {}

  @Authorize('cyborg:arq:history')
  @Get('accelerator_requests/:uuid/state_at')
  async arq(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
  ): Promise<StateAt> {
    const notFound = `ExtArq not found with uuid=${value}`;
    const uuid = uuidPathParam(value);
    const state = await this.state('arq', uuid, query, notFound);
    const history = await auditRead(() => historyOf(this.log, 'arq', uuid));
    if (!history || !canSee(visibilityOf(callerFrom(request)), arqProjectOf(history))) {
      throw new NotFoundException(notFound);
    }
    return state;
  }

  @Authorize('cyborg:device:history')
  @Get('devices/:uuid/state_at')
  device(@Param('uuid') value: string, @Query() query: Record<string, unknown>): Promise<StateAt> {
    return this.state('device', uuidPathParam(value), query, `Device not found with uuid=${value}`);
  }

  @Authorize('cyborg:host:history')
  @Get('hosts/:hostname/state_at')
  host(@Param('hostname') hostname: string, @Query() query: Record<string, unknown>): Promise<StateAt> {
    return this.state('host', hostname, query, `Host ${hostname} not found`);
  }

  private async state(kind: StateKind, id: string, query: Record<string, unknown>, notFound: string): Promise<StateAt> {
    const { at } = strictQuery(query, ['at']);
    const state = await auditRead(() => stateAt(this.log, kind, id, parseMoment(at?.trim() ? at : 'now')));
    if (!state) throw new NotFoundException(notFound);
    return state;
  }
}
