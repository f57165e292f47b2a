import { ArqBindFailed, ArqBindStarted, ArqBound, ArqDeleted, ArqUnbound } from '@cyborg/contracts';
import type { AuditLog } from './audit-log';
import type { AuditEvent } from './event-view';
import { type EventFilter, readEvents } from './events-query';

/** How a bind ended: the agent confirmed it, it failed (reason given), unbind or delete cut it short, or not yet. */
export type BindOutcome = 'bound' | 'failed' | 'interrupted' | 'in_progress';

/** One bind of one ARQ, from its `ArqBindStarted` to the event that ended it. */
export interface BindRecord {
  arq_uuid: string;
  attempt: number;
  hostname: string;
  instance_uuid: string;
  started_at: string;
  started_position: number;
  ended_at: string | null;
  outcome: BindOutcome;
  /** From BindStarted to Bound or BindFailed (or the unbind that interrupted it); null while in progress. */
  duration_ms: number | null;
  reason: string | null;
}

/** Binds that ended per minute, by outcome. */
export interface BindThroughput {
  minute: string;
  bound: number;
  failed: number;
  interrupted: number;
}

export interface BindReport {
  since: string | null;
  until: string | null;
  binds: BindRecord[];
  summary: {
    started: number;
    bound: number;
    failed: number;
    interrupted: number;
    in_progress: number;
    /** Of the binds that reached Bound, in milliseconds; null when none did. */
    latency_ms: { p50: number; p90: number; p99: number; max: number; mean: number } | null;
  };
  throughput: BindThroughput[];
  /** True when more binds started than `maxBinds` allows; the earliest ones are reported. */
  truncated: boolean;
}

const BIND_TYPES = [ArqBindStarted.type, ArqBound.type, ArqBindFailed.type, ArqUnbound.type, ArqDeleted.type];
const PAGE = 1000;

/**
 * Every bind in the events `filter` selects (its period, and for a project
 * the events of its own ARQs only), paired from the log: BindStarted with the
 * Bound, BindFailed, or interrupting unbind/delete of the same ARQ and attempt.
 * The log is the source: the time between the two events is the bind's latency.
 */
export async function bindsOf(
  log: AuditLog,
  filter: EventFilter,
  options: { maxBinds?: number } = {},
): Promise<BindReport> {
  const maxBinds = options.maxBinds ?? 5000;
  const open = new Map<string, BindRecord>();
  const binds: BindRecord[] = [];
  let truncated = false;
  let marker: string | undefined;
  for (;;) {
    const read = await readEvents(log, { ...filter, types: BIND_TYPES }, { limit: PAGE, marker });
    for (const event of read.events) {
      if (event.type === ArqBindStarted.type) {
        if (binds.length >= maxBinds) {
          truncated = true;
          continue;
        }
        const bind = started(event);
        binds.push(bind);
        open.set(key(bind.arq_uuid, bind.attempt), bind);
        continue;
      }
      const end = endOf(event);
      if (!end) continue;
      const bind = open.get(key(end.uuid, end.attempt));
      if (!bind) continue;
      open.delete(key(end.uuid, end.attempt));
      bind.ended_at = event.occurred_at;
      bind.outcome = end.outcome;
      bind.reason = end.reason;
      bind.duration_ms = Date.parse(event.occurred_at) - Date.parse(bind.started_at);
    }
    if (read.events.length < PAGE) break;
    marker = read.events[read.events.length - 1].event_id;
  }
  return {
    since: filter.since?.toISOString() ?? null,
    until: filter.until?.toISOString() ?? null,
    binds,
    summary: summaryOf(binds),
    throughput: throughputOf(binds),
    truncated,
  };
}

const key = (uuid: string, attempt: number) => `${uuid}:${attempt}`;

function started(event: AuditEvent): BindRecord {
  const data = event.data as { uuid: string; attempt: number; hostname: string; instanceUuid: string };
  return {
    arq_uuid: data.uuid,
    attempt: data.attempt,
    hostname: data.hostname,
    instance_uuid: data.instanceUuid,
    started_at: event.occurred_at,
    started_position: event.position,
    ended_at: null,
    outcome: 'in_progress',
    duration_ms: null,
    reason: null,
  };
}

function endOf(
  event: AuditEvent,
): { uuid: string; attempt: number; outcome: BindOutcome; reason: string | null } | null {
  const data = event.data as {
    uuid: string;
    attempt?: number;
    reason?: string;
    interruptedBind?: { attempt: number };
  };
  if (event.type === ArqBound.type && data.attempt !== undefined)
    return { uuid: data.uuid, attempt: data.attempt, outcome: 'bound', reason: null };
  if (event.type === ArqBindFailed.type && data.attempt !== undefined)
    return { uuid: data.uuid, attempt: data.attempt, outcome: 'failed', reason: data.reason ?? null };
  if (data.interruptedBind) {
    const reason = event.type === ArqDeleted.type ? 'deleted while binding' : 'unbound while binding';
    return { uuid: data.uuid, attempt: data.interruptedBind.attempt, outcome: 'interrupted', reason };
  }
  return null;
}

function summaryOf(binds: readonly BindRecord[]): BindReport['summary'] {
  const count = (outcome: BindOutcome) => binds.filter((b) => b.outcome === outcome).length;
  const latencies = binds
    .filter((b) => b.outcome === 'bound' && b.duration_ms !== null)
    .map((b) => b.duration_ms as number)
    .sort((a, b) => a - b);
  const quantile = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)];
  return {
    started: binds.length,
    bound: count('bound'),
    failed: count('failed'),
    interrupted: count('interrupted'),
    in_progress: count('in_progress'),
    latency_ms:
      latencies.length === 0
        ? null
        : {
            p50: quantile(0.5),
            p90: quantile(0.9),
            p99: quantile(0.99),
            max: latencies[latencies.length - 1],
            mean: Math.round((latencies.reduce((a, b) => a + b, 0) / latencies.length) * 10) / 10,
          },
  };
}

function throughputOf(binds: readonly BindRecord[]): BindThroughput[] {
  const minutes = new Map<string, BindThroughput>();
  for (const bind of binds) {
    if (!bind.ended_at || bind.outcome === 'in_progress') continue;
    const minute = `${bind.ended_at.slice(0, 16)}:00.000Z`;
    const row = minutes.get(minute) ?? { minute, bound: 0, failed: 0, interrupted: 0 };
    row[bind.outcome] += 1;
    minutes.set(minute, row);
  }
  return [...minutes.values()].sort((a, b) => a.minute.localeCompare(b.minute));
}
