import type { CyborgEvent } from '@cyborg/contracts';
import {
  ArqBindFailed,
  ArqBindStarted,
  ArqBound,
  ArqCreated,
  ArqUnbound,
  AttributeAdded,
  AttributeRemoved,
  AttributeUpdated,
  DeployableAdded,
  DeployableDraining,
  DeployableProgrammed,
  DeployableRemoved,
  DeployableUpdated,
  DeviceAdded,
  DeviceDisabled,
  DeviceDraining,
  DeviceEnabled,
  DeviceRemoved,
  DeviceUpdated,
} from '@cyborg/contracts';
import {
  type ArqState,
  evolveArq,
  evolveHost,
  type HostState,
  initialArqState,
  initialHostState,
} from '@cyborg/domain';
import type { RecordedEvent } from '@cyborg/event-store';
import {
  type ArqRecord,
  attachInfo,
  attributesList,
  type AttributeRecord,
  cyborgTimestamp,
  type DeployableRecord,
  type DeviceRecord,
  timestampOrNull,
} from './views';

/*
 * The domain's folds (evolveArq, evolveHost) carry what decisions need. The
 * API's resources also show what the read models add from the log itself:
 * integer ids (the position of the Added event), created_at and updated_at
 * (the events' times), ids of parents looked up when an event was applied.
 * These folds keep both, following the same rules as the projections, so a
 * state rebuilt here reads exactly as the API answered at that moment.
 */

export interface ArqAudit {
  arq: ArqState;
  updatedAt: Date | null;
  bindFailure: string | null;
}

export const initialArqAudit: ArqAudit = { arq: initialArqState, updatedAt: null, bindFailure: null };

export function evolveArqAudit(state: ArqAudit, event: RecordedEvent<CyborgEvent>): ArqAudit {
  const arq = evolveArq(state.arq, event);
  if (event.type === ArqCreated.type) return { arq, updatedAt: null, bindFailure: null };
  const bindFailure = event.type === ArqBindFailed.type ? event.data.reason : state.bindFailure;
  const updatedAt = ARQ_UPDATES.includes(event.type) ? event.occurredAt : state.updatedAt;
  return { arq, updatedAt: arq.arq ? updatedAt : null, bindFailure };
}

/** The events that set an ARQ's `updated_at` in its read model. */
const ARQ_UPDATES: readonly string[] = [ArqBindStarted.type, ArqBound.type, ArqBindFailed.type, ArqUnbound.type];

export function arqRecordOf(state: ArqAudit): ArqRecord | null {
  const arq = state.arq.arq;
  if (!arq) return null;
  const bound = arq.state === 'Bound';
  const handle = arq.holding?.handle ?? null;
  return {
    uuid: arq.uuid,
    state: arq.state,
    device_profile_name: arq.deviceProfileName,
    device_profile_group_id: arq.deviceProfileGroupId,
    hostname: arq.hostname,
    device_rp_uuid: arq.deviceRpUuid,
    instance_uuid: arq.instanceUuid,
    project_id: arq.projectId,
    attach_handle_type: bound && handle ? handle.type : '',
    attach_handle_uuid: bound && handle ? handle.uuid : null,
    attach_handle_info: bound && handle ? attachInfo(handle.info) : {},
    created_at: cyborgTimestamp(arq.createdAt),
    updated_at: timestampOrNull(state.updatedAt),
  };
}

interface Row {
  id: number;
  createdAt: Date;
  updatedAt: Date | null;
}

interface DeployableRow extends Row {
  deviceId: number | null;
  parentId: number | null;
  rootId: number | null;
}

interface AttributeRow extends Row {
  deployableId: number | null;
}

export interface HostAudit {
  hostname: string;
  host: HostState;
  devices: ReadonlyMap<string, Row>;
  deployables: ReadonlyMap<string, DeployableRow>;
  attributes: ReadonlyMap<string, AttributeRow>;
}

export const initialHostAudit = (hostname: string): HostAudit => ({
  hostname,
  host: initialHostState,
  devices: new Map(),
  deployables: new Map(),
  attributes: new Map(),
});

const DEVICE_TOUCHES: readonly string[] = [
  DeviceUpdated.type,
  DeviceDisabled.type,
  DeviceEnabled.type,
  DeviceDraining.type,
];

export function evolveHostAudit(state: HostAudit, event: RecordedEvent<CyborgEvent>): HostAudit {
  const host = evolveHost(state.host, event);
  const data: Record<string, unknown> = event.data;
  const uuid = typeof data.uuid === 'string' ? data.uuid : '';
  const at = event.occurredAt;
  const added = { id: event.position, createdAt: at, updatedAt: null };
  let { devices, deployables, attributes } = state;
  switch (event.type) {
    case DeviceAdded.type:
      devices = put(devices, uuid, added);
      break;
    case DeviceRemoved.type:
      devices = without(devices, uuid);
      break;
    case DeployableAdded.type:
    case DeployableUpdated.type: {
      const d = event.data;
      const links = {
        deviceId: devices.get(d.deviceUuid)?.id ?? null,
        parentId: d.parentUuid ? (deployables.get(d.parentUuid)?.id ?? null) : null,
        rootId: d.rootUuid ? (deployables.get(d.rootUuid)?.id ?? null) : null,
      };
      const known = deployables.get(uuid);
      if (event.type === DeployableAdded.type) deployables = put(deployables, uuid, { ...added, ...links });
      else if (known) deployables = put(deployables, uuid, { ...known, ...links, updatedAt: at });
      break;
    }
    case DeployableDraining.type:
    case DeployableProgrammed.type:
      deployables = touch(deployables, uuid, at);
      break;
    case DeployableRemoved.type:
      deployables = without(deployables, uuid);
      break;
    case AttributeAdded.type: {
      const d = event.data;
      attributes = put(attributes, uuid, { ...added, deployableId: deployables.get(d.deployableUuid)?.id ?? null });
      break;
    }
    case AttributeUpdated.type:
      attributes = touch(attributes, uuid, at);
      break;
    case AttributeRemoved.type:
      attributes = without(attributes, uuid);
      break;
    default:
      if (DEVICE_TOUCHES.includes(event.type)) devices = touch(devices, uuid, at);
  }
  return { hostname: state.hostname, host, devices, deployables, attributes };
}

export function deviceRecordOf(state: HostAudit, uuid: string): DeviceRecord | null {
  const device = state.host.inventory.devices.get(uuid);
  const row = state.devices.get(uuid);
  if (!device || !row) return null;
  return {
    uuid: device.uuid,
    type: device.type,
    vendor: device.vendor,
    model: device.model,
    std_board_info: device.stdBoardInfo,
    vendor_board_info: device.vendorBoardInfo,
    hostname: state.hostname,
    status: device.status,
    created_at: cyborgTimestamp(row.createdAt),
    updated_at: timestampOrNull(row.updatedAt),
  };
}

/** In the API's list order: by id. */
export function deviceRecordsOf(state: HostAudit): DeviceRecord[] {
  return byId(state.devices)
    .map((uuid) => deviceRecordOf(state, uuid))
    .filter((d): d is DeviceRecord => d !== null);
}

export function deployableRecordsOf(state: HostAudit): DeployableRecord[] {
  const { inventory } = state.host;
  const attributes = byId(state.attributes)
    .map((uuid) => inventory.attributes.get(uuid))
    .filter((a) => a !== undefined);
  return byId(state.deployables).flatMap((uuid) => {
    const deployable = inventory.deployables.get(uuid);
    const row = state.deployables.get(uuid);
    if (!deployable || !row) return [];
    return [
      {
        uuid,
        parent_id: row.parentId,
        root_id: row.rootId,
        name: deployable.name,
        num_accelerators: deployable.numAccelerators,
        device_id: row.deviceId,
        attributes_list: attributesList(attributes.filter((a) => a.deployableUuid === uuid)),
        rp_uuid: deployable.rpUuid,
        driver_name: deployable.driverName,
        bitstream_id: deployable.bitstreamId,
        created_at: cyborgTimestamp(row.createdAt),
        updated_at: timestampOrNull(row.updatedAt),
      },
    ];
  });
}

export function attributeRecordsOf(state: HostAudit): AttributeRecord[] {
  return byId(state.attributes).flatMap((uuid) => {
    const attribute = state.host.inventory.attributes.get(uuid);
    const row = state.attributes.get(uuid);
    if (!attribute || !row) return [];
    return [
      {
        uuid,
        deployable_id: row.deployableId,
        key: attribute.key,
        value: attribute.value,
        created_at: cyborgTimestamp(row.createdAt),
        updated_at: timestampOrNull(row.updatedAt),
      },
    ];
  });
}

function byId(rows: ReadonlyMap<string, Row>): string[] {
  return [...rows.entries()].sort((a, b) => a[1].id - b[1].id).map(([uuid]) => uuid);
}

function put<T>(map: ReadonlyMap<string, T>, key: string, value: T): ReadonlyMap<string, T> {
  return new Map(map).set(key, value);
}

function touch<T extends Row>(map: ReadonlyMap<string, T>, key: string, at: Date): ReadonlyMap<string, T> {
  const known = map.get(key);
  return known ? put(map, key, { ...known, updatedAt: at }) : map;
}

function without<T>(map: ReadonlyMap<string, T>, key: string): ReadonlyMap<string, T> {
  if (!map.has(key)) return map;
  const next = new Map(map);
  next.delete(key);
  return next;
}
