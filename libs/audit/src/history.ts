import type { CyborgEvent } from '@cyborg/contracts';
import { Streams } from '@cyborg/contracts';
import {
  type DeviceProfileNameState,
  type DeviceProfileState,
  evolveDeviceProfile,
  evolveDeviceProfileName,
  initialDeviceProfileNameState,
  initialDeviceProfileState,
  isUuidLike,
} from '@cyborg/domain';
import type { RecordedEvent } from '@cyborg/event-store';
import type { AuditLog } from './audit-log';
import { commandTypesOf, type CommandTypes, type Who, type Why, whoOf, whyOf } from './event-view';
import {
  type ArqAudit,
  evolveArqAudit,
  evolveHostAudit,
  type HostAudit,
  initialArqAudit,
  initialHostAudit,
} from './folds';
import { uuidOf } from './state-at';
import { compareLogOrder, hostsHolding, readHostStream } from './streams';
import { summarize } from './summaries';

export const HISTORY_KINDS = ['arq', 'device', 'deployable', 'host', 'profile'] as const;
export type HistoryKind = (typeof HISTORY_KINDS)[number];

export type Snapshot = Record<string, unknown>;
export type Changes = Record<string, { from: unknown; to: unknown }>;

/** One change to a thing: when, what happened, who did it, why, and which of its fields changed. */
export interface HistoryEntry {
  at: string;
  position: number;
  stream_id: string;
  version: number;
  event_id: string;
  type: string;
  schema_version: number;
  summary: string;
  who: Who;
  why: Why;
  changes: Changes;
}

export interface History {
  kind: HistoryKind;
  id: string;
  /** The streams read. */
  streams: string[];
  entries: HistoryEntry[];
}

/** The project that created an ARQ, from its history; whose history it is. */
export function arqProjectOf(history: History): string | null {
  const created = history.entries.find((entry) => entry.changes.project_id !== undefined);
  const project = created?.changes.project_id.to;
  return typeof project === 'string' ? project : null;
}

/**
 * The timeline of one ARQ, device, deployable, host or device profile: every
 * event that changed it, oldest first. Null when the log never knew it.
 */
export async function historyOf(log: AuditLog, kind: HistoryKind, id: string): Promise<History | null> {
  switch (kind) {
    case 'arq': {
      const uuid = uuidOf(id, 'ARQ');
      const stream = Streams.arq(uuid);
      const events = await log.readStream(stream);
      if (events.length === 0) return null;
      const steps = walk(events, initialArqAudit, evolveArqAudit, arqSnapshot, () => true);
      return history(log, kind, uuid, [stream], steps);
    }
    case 'device':
    case 'deployable': {
      const uuid = uuidOf(id, kind);
      const hosts = await hostsHolding(log, kind, uuid);
      if (hosts.length === 0) return null;
      const steps: Step[] = [];
      for (const hostname of hosts) {
        const related = new Set([uuid]);
        const snapshot = kind === 'device' ? deviceSnapshot(uuid) : deployableSnapshot(uuid);
        const events = await readHostStream(log, hostname);
        steps.push(
          ...walk(events, initialHostAudit(hostname), evolveHostAudit, snapshot, (event) =>
            concerns(event, kind, uuid, related),
          ),
        );
      }
      steps.sort((a, b) => compareLogOrder(a.event, b.event));
      return history(log, kind, uuid, hosts.map(Streams.host), steps);
    }
    case 'host': {
      const events = await readHostStream(log, id);
      if (events.length === 0) return null;
      const steps = walk(events, initialHostAudit(id), evolveHostAudit, hostSnapshot, () => true);
      return history(log, kind, id, [Streams.host(id)], steps);
    }
    case 'profile': {
      const streams = await profileStreams(log, id);
      const steps: Step[] = [];
      for (const stream of streams) {
        const events = await log.readStream(stream);
        if (stream.startsWith('device_profile_name-')) {
          steps.push(...walk(events, initialDeviceProfileNameState, evolveDeviceProfileName, nameSnapshot, () => true));
        } else {
          steps.push(...walk(events, initialDeviceProfileState, evolveDeviceProfile, profileSnapshot, () => true));
        }
      }
      if (steps.length === 0) return null;
      steps.sort((a, b) => compareLogOrder(a.event, b.event));
      return history(log, kind, id, streams, steps);
    }
  }
}

interface Step {
  event: RecordedEvent<CyborgEvent>;
  changes: Changes;
}

/** Folds a stream, keeping the events that concern the thing, each with what it changed of the thing's snapshot. */
function walk<S>(
  events: readonly RecordedEvent<CyborgEvent>[],
  initial: S,
  evolve: (state: S, event: RecordedEvent<CyborgEvent>) => S,
  snapshot: (state: S) => Snapshot,
  relevant: (event: RecordedEvent<CyborgEvent>) => boolean,
): Step[] {
  const steps: Step[] = [];
  let state = initial;
  let before = snapshot(state);
  for (const event of events) {
    state = evolve(state, event);
    const after = snapshot(state);
    const changes = diff(before, after);
    // Asked every time: relevance may learn from the event (what belongs to the thing).
    const concerned = relevant(event);
    if (concerned || Object.keys(changes).length > 0) steps.push({ event, changes });
    before = after;
  }
  return steps;
}

async function history(
  log: AuditLog,
  kind: HistoryKind,
  id: string,
  streams: string[],
  steps: Step[],
): Promise<History> {
  const commands: CommandTypes = await commandTypesOf(
    log,
    steps.map((s) => s.event),
  );
  return {
    kind,
    id,
    streams,
    entries: steps.map(({ event, changes }) => ({
      at: event.occurredAt.toISOString(),
      position: event.position,
      stream_id: event.streamId,
      version: event.version,
      event_id: event.eventId,
      type: event.type,
      schema_version: event.schemaVersion,
      summary: summarize(event.type, event.data),
      who: whoOf(event.metadata),
      why: whyOf(event, commands),
      changes,
    })),
  };
}

export function diff(before: Snapshot, after: Snapshot): Changes {
  // A thing that goes is gone: its fields did not change one by one.
  if (before.exists === true && after.exists === false) return { exists: { from: true, to: false } };
  const changes: Changes = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = before[key] ?? null;
    const to = after[key] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[key] = { from, to };
  }
  return changes;
}

function arqSnapshot(state: ArqAudit): Snapshot {
  const arq = state.arq.arq;
  if (!arq) return { exists: false };
  return {
    exists: true,
    state: arq.state,
    project_id: arq.projectId,
    resource_class: arq.resourceClass,
    hostname: arq.hostname,
    device_rp_uuid: arq.deviceRpUuid,
    instance_uuid: arq.instanceUuid,
    bind_attempt: arq.attempt,
    attach_handle: arq.holding?.handle.uuid ?? null,
    device: arq.holding?.handle.deviceUuid ?? null,
    bind_failure: arq.state === 'BindFailed' ? state.bindFailure : null,
  };
}

/** A device with what hangs under it: its deployables, handles and who holds them. */
function deviceSnapshot(uuid: string) {
  return (state: HostAudit): Snapshot => {
    const { inventory } = state.host;
    const device = inventory.devices.get(uuid);
    if (!device) return { exists: false };
    const deployables = [...inventory.deployables.values()].filter((d) => d.deviceUuid === uuid);
    const handles = [...inventory.attachHandles.values()].filter((h) => h.deviceUuid === uuid);
    return {
      exists: true,
      hostname: state.hostname,
      type: device.type,
      vendor: device.vendor,
      model: device.model,
      std_board_info: device.stdBoardInfo,
      vendor_board_info: device.vendorBoardInfo,
      driver: device.driverName,
      status: device.status,
      draining: device.draining,
      health: device.health.status,
      health_reasons: device.health.reasons.map((r) => `${r.code}: ${r.message}`).join('; '),
      fenced: device.fenced,
      reshape: device.reshape ? device.reshape.reshapeId : null,
      deployables: deployables.length,
      accelerators: deployables.reduce((sum, d) => sum + d.numAccelerators, 0),
      attach_handles: handles.length,
      attach_handles_in_use: handles.filter((h) => h.inUse).length,
      held_by: heldBy(handles),
    };
  };
}

function deployableSnapshot(uuid: string) {
  return (state: HostAudit): Snapshot => {
    const { inventory } = state.host;
    const deployable = inventory.deployables.get(uuid);
    if (!deployable) return { exists: false };
    const handles = [...inventory.attachHandles.values()].filter((h) => h.deployableUuid === uuid);
    const attributes = [...inventory.attributes.values()]
      .filter((a) => a.deployableUuid === uuid)
      .map((a) => `${a.key}=${a.value}`)
      .sort();
    return {
      exists: true,
      hostname: state.hostname,
      name: deployable.name,
      device_uuid: deployable.deviceUuid,
      parent_uuid: deployable.parentUuid,
      rp_uuid: deployable.rpUuid,
      num_accelerators: deployable.numAccelerators,
      driver: deployable.driverName,
      draining: deployable.draining,
      attributes,
      attach_handles: handles.length,
      attach_handles_in_use: handles.filter((h) => h.inUse).length,
      held_by: heldBy(handles),
    };
  };
}

function hostSnapshot(state: HostAudit): Snapshot {
  const { host } = state;
  const handles = [...host.inventory.attachHandles.values()];
  return {
    registered: host.registered,
    drivers: host.drivers,
    agent_version: host.agentVersion,
    report_generation: host.inventory.lastReport?.generation ?? null,
    devices: host.inventory.devices.size,
    disabled_devices: [...host.inventory.devices.values()].filter((d) => d.status !== 'enabled').length,
    deployables: host.inventory.deployables.size,
    attach_handles: handles.length,
    attach_handles_in_use: handles.filter((h) => h.inUse).length,
    attributes: host.inventory.attributes.size,
  };
}

function profileSnapshot(state: DeviceProfileState): Snapshot {
  const profile = state.profile;
  if (!profile) return { exists: false };
  return { exists: true, name: profile.name, description: profile.description, groups: profile.groups };
}

function nameSnapshot(state: DeviceProfileNameState): Snapshot {
  return { name_held_by: state.holder };
}

const heldBy = (handles: readonly { allocatedTo: string | null }[]) =>
  handles
    .map((h) => h.allocatedTo)
    .filter((arq): arq is string => arq !== null)
    .sort();

/** Whether a host-stream event names the device or deployable, or something that belongs to it. */
function concerns(
  event: RecordedEvent<CyborgEvent>,
  kind: 'device' | 'deployable',
  uuid: string,
  related: Set<string>,
): boolean {
  const d: Record<string, unknown> = event.data;
  const owner = kind === 'device' ? d.deviceUuid : d.deployableUuid;
  // Deployables and handles of a device (handles of a deployable) join it as they appear.
  if (owner === uuid && typeof d.uuid === 'string') related.add(d.uuid);
  return [d.uuid, d.deviceUuid, d.deployableUuid].some((v) => typeof v === 'string' && related.has(v));
}

/** A profile named by uuid: its stream. By name: the name's stream and every profile that held the name. */
async function profileStreams(log: AuditLog, id: string): Promise<string[]> {
  if (isUuidLike(id)) return [Streams.deviceProfile(uuidOf(id, 'device profile'))];
  const nameStream = Streams.deviceProfileName(id);
  const holders = (await log.readStream(nameStream))
    .map((e) => ('uuid' in e.data ? e.data.uuid : null))
    .filter((uuid): uuid is string => typeof uuid === 'string');
  return [nameStream, ...[...new Set(holders)].map((uuid) => Streams.deviceProfile(uuid))];
}
