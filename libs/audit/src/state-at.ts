import type { CyborgEvent } from '@cyborg/contracts';
import { Streams } from '@cyborg/contracts';
import { canonicalUuid } from '@cyborg/domain';
import type { RecordedEvent } from '@cyborg/event-store';
import type { AuditLog } from './audit-log';
import { AuditInputError } from './errors';
import {
  arqRecordOf,
  attributeRecordsOf,
  deployableRecordsOf,
  deviceRecordOf,
  deviceRecordsOf,
  evolveArqAudit,
  evolveHostAudit,
  type HostAudit,
  initialArqAudit,
  initialHostAudit,
} from './folds';
import { describeMoment, type Moment } from './moments';
import { hostsHolding, readHostStream, upTo } from './streams';
import type { ArqRecord, AttributeRecord, DeployableRecord, DeviceRecord } from './views';

export const STATE_KINDS = ['arq', 'device', 'host'] as const;
export type StateKind = (typeof STATE_KINDS)[number];

/** A host as its stream says it was: what the API lists for it, plus what only the log knows. */
export interface HostRecord {
  hostname: string;
  registered: boolean;
  drivers: string[];
  agent_version: string | null;
  last_report: { generation: number; hash: string } | null;
  devices: DeviceRecord[];
  deployables: DeployableRecord[];
  attach_handles: AttachHandleRecord[];
  attributes: AttributeRecord[];
}

export interface AttachHandleRecord {
  uuid: string;
  deployable_uuid: string;
  device_uuid: string;
  type: string;
  attach_info: string;
  in_use: boolean;
  /** The ARQ holding it. */
  allocated_to: string | null;
  draining: boolean;
}

export interface StateAt {
  kind: StateKind;
  id: string;
  /** The moment asked for. */
  at: string;
  /** The last event folded: the state is the one it left. Null when the stream had not begun. */
  as_of: { position: number; occurred_at: string; stream_id: string; version: number; type: string } | null;
  /** False when the thing did not exist then (not yet created, or deleted or removed by then). */
  exists: boolean;
  state: ArqRecord | DeviceRecord | HostRecord | null;
}

/**
 * The state of an ARQ, device or host at a moment, rebuilt by folding the
 * domain's evolve functions over its stream up to that moment. Null when the
 * log never knew it.
 */
export async function stateAt(log: AuditLog, kind: StateKind, id: string, moment: Moment): Promise<StateAt | null> {
  switch (kind) {
    case 'arq': {
      const uuid = uuidOf(id, 'ARQ');
      const events = await log.readStream(Streams.arq(uuid));
      if (events.length === 0) return null;
      const seen = upTo(events, moment);
      const record = arqRecordOf(seen.reduce(evolveArqAudit, initialArqAudit));
      return result(kind, uuid, moment, seen, record);
    }
    case 'device': {
      const uuid = uuidOf(id, 'device');
      const hosts = await hostsHolding(log, 'device', uuid);
      if (hosts.length === 0) return null;
      // A device belongs to one host; should it have moved, the latest host that knew it then speaks.
      let best: { seen: RecordedEvent<CyborgEvent>[]; record: DeviceRecord | null } | null = null;
      for (const hostname of hosts) {
        const seen = upTo(await readHostStream(log, hostname), moment);
        const record = deviceRecordOf(seen.reduce(evolveHostAudit, initialHostAudit(hostname)), uuid);
        if (!best || record) best = { seen, record };
      }
      return result(kind, uuid, moment, best!.seen, best!.record);
    }
    case 'host': {
      const events = await readHostStream(log, id);
      if (events.length === 0) return null;
      const seen = upTo(events, moment);
      const host = seen.reduce(evolveHostAudit, initialHostAudit(id));
      return result(kind, id, moment, seen, seen.length > 0 ? hostRecordOf(host) : null);
    }
  }
}

export function hostRecordOf(state: HostAudit): HostRecord {
  const { host } = state;
  return {
    hostname: state.hostname,
    registered: host.registered,
    drivers: host.drivers,
    agent_version: host.agentVersion,
    last_report: host.inventory.lastReport,
    devices: deviceRecordsOf(state),
    deployables: deployableRecordsOf(state),
    attach_handles: [...host.inventory.attachHandles.values()].map((h) => ({
      uuid: h.uuid,
      deployable_uuid: h.deployableUuid,
      device_uuid: h.deviceUuid,
      type: h.type,
      attach_info: h.info,
      in_use: h.inUse,
      allocated_to: h.allocatedTo,
      draining: h.draining,
    })),
    attributes: attributeRecordsOf(state),
  };
}

function result(
  kind: StateKind,
  id: string,
  moment: Moment,
  seen: RecordedEvent<CyborgEvent>[],
  state: StateAt['state'],
): StateAt {
  const last = seen[seen.length - 1];
  return {
    kind,
    id,
    at: describeMoment(moment),
    as_of: last
      ? {
          position: last.position,
          occurred_at: last.occurredAt.toISOString(),
          stream_id: last.streamId,
          version: last.version,
          type: last.type,
        }
      : null,
    exists: state !== null,
    state,
  };
}

export function uuidOf(value: string, what: string): string {
  const uuid = canonicalUuid(value);
  if (!uuid) throw new AuditInputError(`${what} must be named by its uuid, not '${value}'`);
  return uuid;
}
