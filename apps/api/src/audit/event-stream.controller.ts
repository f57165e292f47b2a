import {
  BadRequestException,
  Controller,
  Get,
  Logger,
  Query,
  Req,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  type AuditEvent,
  AuditLog,
  EVENT_FILTER_PARAMS,
  followEvents,
  parseEventFilter,
  parsePosition,
  readLatestEvents,
} from '@cyborg/audit';
import { Settings } from '@cyborg/config';
import type { Checkpoint } from '@cyborg/event-store';
import { Policy } from '@cyborg/policy';
import { callerFrom } from '../http/caller';
import { Versioned } from '../http/microversion';
import { Authorize } from '../http/policy.guard';
import { strictQuery } from '../http/query';
import { auditRead } from './audit-errors';
import { projectOfRead } from './project-scope';

const ALL_PROJECTS = 'cyborg:event:get_all_projects';
const MAX_BACKLOG = 1000;
/** A comment line this often keeps proxies and browsers from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

/**
 * The event log live, as server-sent events (an extension): the filters and
 * scope of `GET /v2/events` (a project sees only its own ARQs' events), then
 * every new matching event as it commits, in log order, never skipping one
 * that commits late. `last=N` first sends the N latest matching events.
 * Each event's SSE id is `<transaction_id>:<position>`; a client reconnecting
 * with `Last-Event-ID` (or `after=`) resumes right after it. An `event: ready`
 * message says the stream is following.
 */
@Controller('v2/events/stream')
@Versioned()
export class EventStreamController {
  private readonly logger = new Logger('event-stream');
  private clients = 0;

  constructor(
    private readonly log: AuditLog,
    private readonly policy: Policy,
    private readonly settings: Settings,
  ) {}

  @Authorize('cyborg:event:get_all')
  @Get()
  async stream(
    @Req() request: Request,
    @Res() response: Response,
    @Query() query: Record<string, unknown>,
  ): Promise<void> {
    const { last, after, ...params } = strictQuery(query, [...EVENT_FILTER_PARAMS, 'last', 'after']);
    const scope = projectOfRead(this.policy, ALL_PROJECTS, callerFrom(request), params.project_id);
    const filter = await auditRead(async () => parseEventFilter(params));
    if (!scope.allProjects) filter.visibleToProject = scope.projectId;
    const resume = checkpointOf(request.get('Last-Event-ID') ?? after);
    const backlog = last === undefined ? 0 : await auditRead(async () => parsePosition(last, 'last'));
    if (backlog > MAX_BACKLOG) throw new BadRequestException(`last must be at most ${MAX_BACKLOG}`);
    if (this.clients >= this.settings.EVENT_STREAM_MAX_CLIENTS) {
      throw new ServiceUnavailableException(
        `${this.clients} event streams are open, the most EVENT_STREAM_MAX_CLIENTS allows; try again later`,
      );
    }

    this.clients += 1;
    const abort = new AbortController();
    response.on('close', () => abort.abort());
    const send = async (events: AuditEvent[]) => {
      for (const event of events) {
        const frame = `id: ${event.transaction_id}:${event.position}\nevent: event\ndata: ${JSON.stringify(event)}\n\n`;
        if (!response.write(frame)) await drained(response, abort.signal);
        if (abort.signal.aborted) return;
      }
    };
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    try {
      response.status(200).set({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
        Connection: 'keep-alive',
      });
      response.flushHeaders();
      response.write('retry: 2000\n\n');
      let start: Checkpoint;
      if (resume) {
        start = resume;
      } else if (backlog > 0) {
        const read = await readLatestEvents(this.log, filter, backlog);
        await send(read.events);
        start = read.checkpoint;
      } else {
        start = await this.log.head();
      }
      response.write(`event: ready\ndata: ${JSON.stringify({ position: start.position })}\n\n`);
      await followEvents(this.log, filter, {
        after: start,
        signal: abort.signal,
        databaseUrl: this.settings.DATABASE_URL,
        pollIntervalMs: 1000,
        onEvents: send,
      });
    } catch (error) {
      if (!abort.signal.aborted) {
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn({ msg: 'event stream ended by an error', error: message });
        response.write(`event: error\ndata: ${JSON.stringify({ error_message: message })}\n\n`);
      }
    } finally {
      clearInterval(keepAlive);
      this.clients -= 1;
      response.end();
    }
  }
}

/** `<transaction_id>:<position>`, as this stream's ids are; anything else is a 400. */
function checkpointOf(value: string | undefined): Checkpoint | null {
  if (value === undefined || value.trim() === '') return null;
  const match = /^\s*(\d{1,20}):(\d{1,16})\s*$/.exec(value);
  if (!match) {
    throw new BadRequestException(
      `Last-Event-ID or after must be an id this stream sent (<transaction_id>:<position>), not '${value}'`,
    );
  }
  return { transactionId: match[1], position: Number(match[2]) };
}

function drained(response: Response, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    response.on('drain', done);
    signal.addEventListener('abort', done);
  });
}
