import pg from 'pg';
import { type Checkpoint, compareCheckpoints, EVENT_COLUMNS, LOG_START, primaryClient } from '@cyborg/event-store';
import type { AuditLog } from './audit-log';
import { type AuditEvent, auditEventOf, commandTypesOf } from './event-view';
import { AuditInputError, EventMarkerNotFoundError } from './errors';
import { parsePosition, parseTime } from './moments';

/** Which events to list. Lists match any of their values; every given field must match. */
export interface EventFilter {
  streams?: string[];
  categories?: string[];
  types?: string[];
  /** occurred_at >= since */
  since?: Date;
  /** occurred_at < until */
  until?: Date;
  /** position >= fromPosition */
  fromPosition?: number;
  /** position <= toPosition */
  toPosition?: number;
  /** Events the project caused, or about its ARQs. */
  projectId?: string;
  /**
   * Only the events of the ARQs this project created: all a project sees of
   * the log (never another project's, nor what its users did to them).
   */
  visibleToProject?: string;
  userId?: string;
  /** Events of the host's stream, or naming the host (binds). */
  hostname?: string;
  requestId?: string;
  commandId?: string;
}

/** The filter's parameters as the REST API names them; the CLI's options map onto these. */
export const EVENT_FILTER_PARAMS = [
  'stream',
  'category',
  'type',
  'since',
  'until',
  'from_position',
  'to_position',
  'project_id',
  'user_id',
  'hostname',
  'request_id',
  'command_id',
] as const;

export type EventFilterParam = (typeof EVENT_FILTER_PARAMS)[number];

const MAX_TEXT = 255;

/** Parses filter parameters given as text (query string, command line); bad values are AuditInputError. */
export function parseEventFilter(params: Partial<Record<EventFilterParam, string>>): EventFilter {
  const filter: EventFilter = {};
  const text = (name: EventFilterParam): string | undefined => {
    const value = params[name]?.trim();
    if (value === undefined || value === '') return undefined;
    if (value.length > MAX_TEXT) throw new AuditInputError(`${name} is longer than ${MAX_TEXT} characters`);
    return value;
  };
  const list = (name: EventFilterParam): string[] | undefined => {
    const value = params[name];
    if (value === undefined) return undefined;
    const items = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    if (items.length === 0) throw new AuditInputError(`${name} needs at least one value`);
    if (items.some((item) => item.length > MAX_TEXT))
      throw new AuditInputError(`a ${name} is longer than ${MAX_TEXT} characters`);
    return items;
  };
  filter.streams = list('stream');
  filter.categories = list('category');
  filter.types = list('type');
  const since = text('since');
  const until = text('until');
  if (since !== undefined) filter.since = parseTime(since, 'since');
  if (until !== undefined) filter.until = parseTime(until, 'until');
  if (filter.since && filter.until && filter.since >= filter.until) {
    throw new AuditInputError('since must be before until');
  }
  const from = text('from_position');
  const to = text('to_position');
  if (from !== undefined) filter.fromPosition = parsePosition(from, 'from_position');
  if (to !== undefined) filter.toPosition = parsePosition(to, 'to_position');
  if (filter.fromPosition !== undefined && filter.toPosition !== undefined && filter.fromPosition > filter.toPosition) {
    throw new AuditInputError('from_position must not be after to_position');
  }
  filter.projectId = text('project_id');
  filter.userId = text('user_id');
  filter.hostname = text('hostname');
  filter.requestId = text('request_id');
  filter.commandId = text('command_id');
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined)) as EventFilter;
}

/** The SQL conditions of a filter on `events`, its values appended to `params`. Column names are ours only. */
function conditionsOf(filter: EventFilter, params: unknown[]): string[] {
  const where: string[] = [];
  const p = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.streams) where.push(`stream_id = ANY(${p(filter.streams)}::text[])`);
  if (filter.categories) where.push(`category = ANY(${p(filter.categories)}::text[])`);
  if (filter.types) where.push(`type = ANY(${p(filter.types)}::text[])`);
  if (filter.since) where.push(`occurred_at >= ${p(filter.since)}`);
  if (filter.until) where.push(`occurred_at < ${p(filter.until)}`);
  if (filter.fromPosition !== undefined) where.push(`position >= ${p(filter.fromPosition)}`);
  if (filter.toPosition !== undefined) where.push(`position <= ${p(filter.toPosition)}`);
  if (filter.projectId) {
    const project = p(filter.projectId);
    // Nova and the conductor act on a project's ARQs too: its ARQ streams count whole.
    where.push(
      `(metadata->>'projectId' = ${project} OR data->>'projectId' = ${project}
        OR (category = 'arq' AND stream_id IN (
          SELECT stream_id FROM events WHERE type = 'ArqCreated' AND data->>'projectId' = ${project})))`,
    );
  }
  if (filter.visibleToProject !== undefined) {
    where.push(
      `category = 'arq' AND stream_id IN (
        SELECT stream_id FROM events WHERE type = 'ArqCreated' AND data->>'projectId' = ${p(filter.visibleToProject)})`,
    );
  }
  if (filter.userId) where.push(`metadata->>'userId' = ${p(filter.userId)}`);
  if (filter.hostname) {
    const host = p(filter.hostname);
    where.push(`(stream_id = 'host-' || ${host} OR data->>'hostname' = ${host})`);
  }
  if (filter.requestId) where.push(`metadata->>'requestId' = ${p(filter.requestId)}`);
  if (filter.commandId) where.push(`metadata->>'commandId' = ${p(filter.commandId)}`);
  return where;
}

export interface EventPage {
  /** At most this many events. */
  limit: number;
  /** The event id of the last event of the previous page. */
  marker?: string;
  /** Or: only events after this checkpoint (following the log). */
  after?: Checkpoint;
}

export interface EventsRead {
  events: AuditEvent[];
  /**
   * Where the next read starts. Past every event that can match now, not only
   * the last one returned, so following a rare filter does not rescan the log.
   */
  checkpoint: Checkpoint;
}

/**
 * Events matching `filter`, in log order, upcast through the store's registry.
 * Only events of finished transactions are read (as every log reader does),
 * so paging or following never skips one that commits late.
 */
export async function readEvents(log: AuditLog, filter: EventFilter, page: EventPage): Promise<EventsRead> {
  const params: unknown[] = [];
  const where = conditionsOf(filter, params);
  let after = page.after ?? LOG_START;
  if (page.marker !== undefined) after = await markerCheckpoint(log, page.marker);
  // Everything up to the head is final: nothing can commit behind it any more.
  const head = await log.head();
  params.push(after.transactionId, after.position, head.transactionId, head.position, page.limit);
  const n = params.length;
  const recorded = await log.events(
    `SELECT ${EVENT_COLUMNS} FROM events
     WHERE (transaction_id, position) > ($${n - 4}::xid8, $${n - 3}::bigint)
       AND (transaction_id, position) <= ($${n - 2}::xid8, $${n - 1}::bigint)
       ${where.map((c) => `AND ${c}`).join('\n       ')}
     ORDER BY transaction_id, position
     LIMIT $${n}`,
    params,
  );
  const commands = await commandTypesOf(log, recorded);
  const last = recorded[recorded.length - 1];
  const checkpoint =
    recorded.length === page.limit
      ? { transactionId: last.transactionId, position: last.position }
      : compareCheckpoints(head, after) > 0
        ? head
        : after;
  return { events: recorded.map((e) => auditEventOf(e, commands)), checkpoint };
}

/**
 * The last `limit` events matching `filter` up to the head of the log, in log
 * order, and the head as the checkpoint to follow from: `tail -n limit -f`.
 */
export async function readLatestEvents(log: AuditLog, filter: EventFilter, limit: number): Promise<EventsRead> {
  const params: unknown[] = [];
  const where = conditionsOf(filter, params);
  const head = await log.head();
  params.push(head.transactionId, head.position, limit);
  const n = params.length;
  const latest = await log.events(
    `SELECT ${EVENT_COLUMNS} FROM events
     WHERE (transaction_id, position) <= ($${n - 2}::xid8, $${n - 1}::bigint)
       ${where.map((c) => `AND ${c}`).join('\n       ')}
     ORDER BY transaction_id DESC, position DESC
     LIMIT $${n}`,
    params,
  );
  const recorded = latest.reverse();
  const commands = await commandTypesOf(log, recorded);
  return { events: recorded.map((e) => auditEventOf(e, commands)), checkpoint: head };
}

async function markerCheckpoint(log: AuditLog, marker: string): Promise<Checkpoint> {
  const rows = await log.rows<{ transaction_id: string; position: string }>(
    `SELECT transaction_id, position FROM events WHERE event_id::text = $1`,
    [marker],
  );
  if (rows.length === 0) throw new EventMarkerNotFoundError(marker);
  return { transactionId: rows[0].transaction_id, position: Number(rows[0].position) };
}

export interface FollowOptions {
  /** Called with each batch of new matching events, in log order. */
  onEvents: (events: AuditEvent[]) => void | Promise<void>;
  /** Stops following. */
  signal: AbortSignal;
  /** Where to start; the head of the log (only new events) when absent. */
  after?: Checkpoint;
  /** A connection string: LISTEN there wakes the follower at once after each append. */
  databaseUrl?: string;
  /** Longest wait between reads without a notification. */
  pollIntervalMs?: number;
}

/** Tails the log: reads what matches, then waits for a notification (or the poll interval), until aborted. */
export async function followEvents(log: AuditLog, filter: EventFilter, options: FollowOptions): Promise<void> {
  const { signal } = options;
  let checkpoint = options.after ?? (await log.head());
  let wake: (() => void) | null = null;
  let notified = false;
  let listener: pg.Client | null = null;
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    if (options.databaseUrl) {
      listener = primaryClient(options.databaseUrl, { application_name: 'cyborg-cli-follow' });
      listener.on('notification', () => {
        notified = true;
        wake?.();
      });
      // A lost session only means polling.
      listener.on('error', () => undefined);
      await listener.connect();
      await listener.query('LISTEN cyborg_events');
    }
    while (!signal.aborted) {
      const read = await readEvents(log, filter, { limit: 500, after: checkpoint });
      checkpoint = read.checkpoint;
      if (read.events.length > 0) await options.onEvents(read.events);
      if (read.events.length === 500 || signal.aborted) continue;
      if (notified) {
        // Woken while reading: the append may not have been readable yet, so look again shortly.
        notified = false;
        await new Promise((resolve) => setTimeout(resolve, 20));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.pollIntervalMs ?? 1000);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await listener?.end().catch(() => undefined);
  }
}
