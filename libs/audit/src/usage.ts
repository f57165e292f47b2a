import { ArqBound, AttributeAdded, AttributeUpdated, DeviceAdded, DeviceUpdated } from '@cyborg/contracts';
import { type ArqState, evolveArq, initialArqState } from '@cyborg/domain';
import { EVENT_COLUMNS } from '@cyborg/event-store';
import type { AuditLog } from './audit-log';
import { AuditInputError } from './errors';
import { parseTime } from './moments';

/** One ARQ holding one accelerator: from its `Bound` until it was unbound, deleted, or its bind failed. */
export interface BindInterval {
  arqUuid: string;
  projectId: string | null;
  /** What the ARQ asked for (ArqCreated v2); null for old events whose group named several classes. */
  resourceClass: string | null;
  deviceUuid: string;
  deployableUuid: string;
  hostname: string;
  start: Date;
  /** Null while still bound. */
  end: Date | null;
}

export interface UsagePeriod {
  since: Date;
  until: Date;
}

export interface UsageQuery extends UsagePeriod {
  /** Only this project; every project when absent. */
  projectId?: string;
}

export interface ResourceUsage {
  resource_class: string;
  device_type: string;
  /** Accelerators (attach handles) held at the end of the period. */
  accelerators_held: number;
  /** Distinct devices those belong to. */
  devices_held: number;
  /** Binds that held an accelerator at some point of the period. */
  binds: number;
  /** Accelerators × hours held within the period. */
  accelerator_hours: number;
}

export interface ProjectUsage {
  project_id: string | null;
  accelerators_held: number;
  devices_held: number;
  binds: number;
  accelerator_hours: number;
  resources: ResourceUsage[];
}

export interface UsageReport {
  since: string;
  until: string;
  projects: ProjectUsage[];
}

const DAY_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;

/** `since`/`until` as text; the last 24 hours up to now by default. */
export function parseUsagePeriod(params: { since?: string; until?: string }): UsagePeriod {
  const until = params.until?.trim() ? parseTime(params.until, 'until') : new Date();
  const since = params.since?.trim() ? parseTime(params.since, 'since') : new Date(until.getTime() - DAY_MS);
  if (since >= until) throw new AuditInputError('since must be before until');
  return { since, until };
}

/**
 * Per-project usage over a period, from the bind events of the log: the
 * usage half of quotas. An interval runs from `ArqBound` to the event that
 * ended it, clipped to the period; still-bound ARQs run to its end.
 */
export async function usageOf(log: AuditLog, query: UsageQuery): Promise<UsageReport> {
  const intervals = await bindIntervals(log, query.until);
  const catalog = await inventoryCatalog(log);
  return summarizeUsage(
    intervals.filter((i) => query.projectId === undefined || i.projectId === query.projectId),
    query,
    catalog,
  );
}

/** Every bind interval begun before `until`, from the ARQ streams that were ever bound. */
export async function bindIntervals(log: AuditLog, until: Date): Promise<BindInterval[]> {
  const events = await log.events(
    `SELECT ${EVENT_COLUMNS} FROM events
     WHERE category = 'arq' AND occurred_at < $2
       AND stream_id IN (SELECT stream_id FROM events WHERE type = $1 AND occurred_at < $2)
     ORDER BY stream_id, version`,
    [ArqBound.type, until],
  );
  const intervals: BindInterval[] = [];
  let stream = '';
  let state: ArqState = initialArqState;
  let open: BindInterval | null = null;
  for (const event of events) {
    if (event.streamId !== stream) {
      stream = event.streamId;
      state = initialArqState;
      open = null;
    }
    state = evolveArq(state, event);
    const arq = state.arq;
    const bound = arq?.state === 'Bound';
    if (open && !bound) {
      open.end = event.occurredAt;
      open = null;
    }
    if (!open && bound && arq.holding) {
      open = {
        arqUuid: arq.uuid,
        projectId: arq.projectId,
        resourceClass: arq.resourceClass,
        deviceUuid: arq.holding.handle.deviceUuid,
        deployableUuid: arq.holding.handle.deployableUuid,
        hostname: arq.holding.hostname,
        start: event.occurredAt,
        end: null,
      };
      intervals.push(open);
    }
  }
  return intervals;
}

/** What usage groups by: each device's type, each deployable's resource class (`rc` attribute). */
export interface InventoryCatalog {
  deviceTypes: ReadonlyMap<string, string>;
  resourceClasses: ReadonlyMap<string, string>;
}

async function inventoryCatalog(log: AuditLog): Promise<InventoryCatalog> {
  const events = await log.events(
    `SELECT ${EVENT_COLUMNS} FROM events
     WHERE category = 'host' AND (type = ANY($1::text[]) OR (type = ANY($2::text[]) AND data->>'key' = 'rc'))
     ORDER BY transaction_id, position`,
    [
      [DeviceAdded.type, DeviceUpdated.type],
      [AttributeAdded.type, AttributeUpdated.type],
    ],
  );
  const deviceTypes = new Map<string, string>();
  const resourceClasses = new Map<string, string>();
  for (const event of events) {
    if (event.type === DeviceAdded.type || event.type === DeviceUpdated.type) {
      const d = event.data;
      deviceTypes.set(d.uuid, d.type);
    } else if (event.type === AttributeAdded.type || event.type === AttributeUpdated.type) {
      resourceClasses.set(event.data.deployableUuid, event.data.value);
    }
  }
  return { deviceTypes, resourceClasses };
}

/** Clips each interval to the period and adds them up by project, resource class and device type. */
export function summarizeUsage(
  intervals: readonly BindInterval[],
  period: UsagePeriod,
  catalog: InventoryCatalog,
  /** What is still bound has been held until now, not until a period's end still to come. */
  now: Date = new Date(),
): UsageReport {
  const since = period.since.getTime();
  const until = Math.min(period.until.getTime(), now.getTime());
  const projects = new Map<string | null, Map<string, ResourceUsage & { devices: Set<string> }>>();
  for (const interval of intervals) {
    const start = interval.start.getTime();
    const end = interval.end?.getTime() ?? Number.POSITIVE_INFINITY;
    const from = Math.max(start, since);
    const to = Math.min(end, until);
    const heldAtEnd = start <= until && end > until;
    if (to <= from && !heldAtEnd) continue;
    const resourceClass = interval.resourceClass ?? catalog.resourceClasses.get(interval.deployableUuid) ?? 'unknown';
    const deviceType = catalog.deviceTypes.get(interval.deviceUuid) ?? 'unknown';
    const byResource = projects.get(interval.projectId) ?? new Map();
    projects.set(interval.projectId, byResource);
    const key = `${resourceClass}\u0000${deviceType}`;
    const usage = byResource.get(key) ?? {
      resource_class: resourceClass,
      device_type: deviceType,
      accelerators_held: 0,
      devices_held: 0,
      binds: 0,
      accelerator_hours: 0,
      devices: new Set<string>(),
    };
    byResource.set(key, usage);
    if (to > from) {
      usage.binds++;
      usage.accelerator_hours += (to - from) / HOUR_MS;
    }
    if (heldAtEnd) {
      usage.accelerators_held++;
      usage.devices.add(interval.deviceUuid);
    }
  }
  const report: ProjectUsage[] = [...projects.entries()].map(([projectId, byResource]) => {
    const resources = [...byResource.values()]
      .map(({ devices, ...usage }) => ({
        ...usage,
        devices_held: devices.size,
        accelerator_hours: round(usage.accelerator_hours),
      }))
      .sort((a, b) => a.resource_class.localeCompare(b.resource_class) || a.device_type.localeCompare(b.device_type));
    const devices = new Set([...byResource.values()].flatMap((u) => [...u.devices]));
    return {
      project_id: projectId,
      accelerators_held: resources.reduce((n, r) => n + r.accelerators_held, 0),
      devices_held: devices.size,
      binds: resources.reduce((n, r) => n + r.binds, 0),
      accelerator_hours: round(resources.reduce((n, r) => n + r.accelerator_hours, 0)),
      resources,
    };
  });
  report.sort((a, b) => (a.project_id ?? '').localeCompare(b.project_id ?? ''));
  return { since: period.since.toISOString(), until: period.until.toISOString(), projects: report };
}

/** Micro-hours: 3.6 ms, finer than any event's clock. */
const round = (hours: number) => Math.round(hours * 1e6) / 1e6;
