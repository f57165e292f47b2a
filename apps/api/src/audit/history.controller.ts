import { Controller, Get, NotFoundException, Param, Query, Req } from '@nestjs/common';
import type { Request } from 'express';
import { arqProjectOf, AuditLog, type History, type HistoryKind, historyOf } from '@cyborg/audit';
import { canSee, visibilityOf } from '@cyborg/contracts';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { uuidPathParam } from '../http/path-uuid';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';

/**
 * The timeline of one ARQ, device or host from the log: every change with
 * who, when, why and which fields changed (as `cyborg history`). Two path
 * segments after the collection, so no ARQ or device route takes them.
 * An ARQ's history is for whoever sees the ARQ (another project's: 404);
 * devices and hosts are the admin's.
 */
@Controller('v2')
@Versioned()
export class HistoryController {
  constructor(private readonly log: AuditLog) {}

  @Authorize('cyborg:arq:history')
  @Get('accelerator_requests/:uuid/history')
  async arq(
    @Req() request: Request,
    @Param('uuid') value: string,
    @Query() query: Record<string, unknown>,
  ): Promise<History> {
    strictQuery(query, []);
    const notFound = `ExtArq not found with uuid=${value}`;
    const history = await this.history('arq', uuidPathParam(value), notFound);
    if (!canSee(visibilityOf(callerFrom(request)), arqProjectOf(history))) throw new NotFoundException(notFound);
    return history;
  }

  @Authorize('cyborg:device:history')
  @Get('devices/:uuid/history')
  device(@Param('uuid') value: string, @Query() query: Record<string, unknown>): Promise<History> {
    strictQuery(query, []);
    return this.history('device', uuidPathParam(value), `Device not found with uuid=${value}`);
  }

  @Authorize('cyborg:host:history')
  @Get('hosts/:hostname/history')
  host(@Param('hostname') hostname: string, @Query() query: Record<string, unknown>): Promise<History> {
    strictQuery(query, []);
    return this.history('host', hostname, `Host ${hostname} not found`);
  }

  private async history(kind: HistoryKind, id: string, notFound: string): Promise<History> {
    const history = await auditRead(() => historyOf(this.log, kind, id));
    if (!history) throw new NotFoundException(notFound);
    return history;
  }
}
