import {
  AttachHandleAdded,
  AttachHandleDraining,
  AttachHandleRemoved,
  type AttachHandleTypeV1,
  AttachHandleUpdated,
  AttributeAdded,
  AttributeRemoved,
  type AttributeSourceV1,
  AttributeUpdated,
  type ControlPathIdV1,
  DeployableAdded,
  DeployableDraining,
  DeployableProgrammed,
  DeployableProgrammingFailed,
  DeployableProgrammingStarted,
  DeployableRemoved,
  DeployableUpdated,
  AttachHandleAllocated,
  AttachHandleReleased,
  DeviceAdded,
  DeviceDisabled,
  DeviceEnabled,
  DeviceDraining,
  DeviceFenceReleased,
  DeviceHealthChanged,
  type DeviceHealthReasonV1,
  type DeviceHealthStatusV1,
  DeviceRemoved,
  DeviceReshapeApplied,
  DeviceReshapeFailed,
  DeviceReshapeRequested,
  type DeviceReshapeSpecV1,
  type ReshapeWhenBusyV1,
  type DeviceStatusV1,
  type DeviceTypeV1,
  DeviceUpdated,
  InventoryReported,
} from '@cyborg/contracts';
import type { CyborgEvent } from '@cyborg/contracts';

export interface DeviceState {
  uuid: string;
  controlPath: string;
  controlPathId: ControlPathIdV1;
  type: DeviceTypeV1;
  vendor: string;
  model: string;
  stdBoardInfo: string | null;
  vendorBoardInfo: string | null;
  driverName: string;
  /** An operator's: `maintaining` refuses new binds. Reports never change it. */
  status: DeviceStatusV1;
  /** Gone from the host but holding an attach handle in use. */
  draining: boolean;
  /** As the driver last reported it (DeviceHealthChanged); healthy until it says otherwise. */
  health: { status: DeviceHealthStatusV1; reasons: DeviceHealthReasonV1[] };
  /** Takes no new binds and Placement reserves it: unhealthy, or recovered under a sticky fence. */
  fenced: boolean;
  /** Why it was fenced: the reasons of the change that fenced it. */
  fenceReasons: DeviceHealthReasonV1[];
  /** An admin's reshape not yet applied or failed: binds to the device wait meanwhile. */
  reshape: PendingReshape | null;
  /** The vGPU type its last applied vGPU reshape gave it (a MIG layout applied after clears it). */
  vgpuType: string | null;
  /** The VF count its last applied VF reshape gave it (a MIG layout applied after clears it: it replaces the VFs). */
  numVfs: number | null;
  /** The MIG layout its last applied MIG reshape gave it. */
  migProfiles: string[] | null;
}

export interface PendingReshape {
  reshapeId: string;
  spec: DeviceReshapeSpecV1;
  whenBusy: ReshapeWhenBusyV1;
}

export const HEALTHY_DEVICE = { status: 'healthy' as const, reasons: [] };

export interface DeployableState {
  uuid: string;
  deviceUuid: string;
  name: string;
  parentUuid: string | null;
  rootUuid: string | null;
  rpUuid: string;
  numAccelerators: number;
  driverName: string;
  draining: boolean;
  /** The bitstream last programmed onto it (Cyborg's `bitstream_id`); reports keep it. */
  bitstreamId: string | null;
  functionId: string | null;
  /** Replaces the reported `CUSTOM_FPGA_FUNCTION_ID*` traits once programmed. */
  functionTrait: string | null;
  /** ISO 8601 deadline of an operator's program request in progress: no binds meanwhile. */
  programmingUntil: string | null;
}

export interface AttachHandleState {
  uuid: string;
  deployableUuid: string;
  deviceUuid: string;
  type: AttachHandleTypeV1;
  info: string;
  /** Set by binding (allocation is decided on this stream); reports never change it. */
  inUse: boolean;
  /** The ARQ holding the handle, when in use. */
  allocatedTo: string | null;
  /** The holding ARQ's bind attempt, when in use and the allocation names it. */
  attempt: number | null;
  /** Allocated at least once: the agent has prepared it, so what a prepare leaves on it is the agent's. */
  boundBefore: boolean;
  draining: boolean;
}

export interface AttributeState {
  uuid: string;
  deployableUuid: string;
  key: string;
  value: string;
  /** `agent`: replaced by every report; `api`: an operator's, kept until deleted or its deployable goes. */
  source: AttributeSourceV1;
}

/**
 * The host's accelerators as the conductor recorded them, keyed by uuid. Uuids
 * are derived from identity keys (control path, deployable name, handle type
 * and attach info, attribute key), so comparing uuid sets compares identities.
 */
export interface InventoryState {
  /** The last report that changed something; null before the first. */
  lastReport: { generation: number; hash: string } | null;
  devices: ReadonlyMap<string, DeviceState>;
  deployables: ReadonlyMap<string, DeployableState>;
  attachHandles: ReadonlyMap<string, AttachHandleState>;
  attributes: ReadonlyMap<string, AttributeState>;
}

export const initialInventoryState: InventoryState = {
  lastReport: null,
  devices: new Map(),
  deployables: new Map(),
  attachHandles: new Map(),
  attributes: new Map(),
};

export function evolveInventory(state: InventoryState, event: CyborgEvent): InventoryState {
  switch (event.type) {
    case DeviceAdded.type:
    case DeviceUpdated.type: {
      const d = event.data;
      const known = state.devices.get(d.uuid);
      const device: DeviceState = {
        uuid: d.uuid,
        controlPath: d.controlPath,
        controlPathId: d.controlPathId,
        type: d.type,
        vendor: d.vendor,
        model: d.model,
        stdBoardInfo: d.stdBoardInfo,
        vendorBoardInfo: d.vendorBoardInfo,
        driverName: d.driverName,
        status: known?.status ?? 'enabled',
        draining: false,
        health: known?.health ?? HEALTHY_DEVICE,
        fenced: known?.fenced ?? false,
        fenceReasons: known?.fenceReasons ?? [],
        reshape: known?.reshape ?? null,
        vgpuType: known?.vgpuType ?? null,
        numVfs: known?.numVfs ?? null,
        migProfiles: known?.migProfiles ?? null,
      };
      return { ...state, devices: put(state.devices, device) };
    }
    case DeviceHealthChanged.type: {
      const d = event.data;
      const known = state.devices.get(d.uuid);
      if (!known) return state;
      return {
        ...state,
        devices: patch(state.devices, d.uuid, {
          health: { status: d.to, reasons: d.reasons },
          fenced: d.fenced,
          fenceReasons: !d.fenced ? [] : d.to === 'unhealthy' ? d.reasons : known.fenceReasons,
        }),
      };
    }
    case DeviceFenceReleased.type: {
      const d = event.data;
      return { ...state, devices: patch(state.devices, d.uuid, { fenced: false, fenceReasons: [] }) };
    }
    case DeviceReshapeRequested.type: {
      const d = event.data;
      const reshape: PendingReshape = { reshapeId: d.reshapeId, spec: d.spec, whenBusy: d.whenBusy };
      return { ...state, devices: patch(state.devices, d.uuid, { reshape }) };
    }
    case DeviceReshapeApplied.type: {
      const d = event.data;
      const known = state.devices.get(d.uuid);
      if (!known || known.reshape?.reshapeId !== d.reshapeId) return state;
      // One kind per spec; a MIG layout replaces the device's deployables, so what the VFs were goes with them.
      const mig = d.spec.migProfiles !== undefined;
      const shape = {
        vgpuType: d.spec.vgpuType ?? (mig ? null : known.vgpuType),
        numVfs: d.spec.numVfs ?? (mig ? null : known.numVfs),
        migProfiles: mig ? [...d.spec.migProfiles!] : known.migProfiles,
      };
      return { ...state, devices: patch(state.devices, d.uuid, { reshape: null, ...shape }) };
    }
    case DeviceReshapeFailed.type: {
      const d = event.data;
      const known = state.devices.get(d.uuid);
      if (!known || known.reshape?.reshapeId !== d.reshapeId) return state;
      return { ...state, devices: patch(state.devices, d.uuid, { reshape: null }) };
    }
    case DeviceDisabled.type: {
      const d = event.data;
      return { ...state, devices: patch(state.devices, d.uuid, { status: 'maintaining' }) };
    }
    case DeviceEnabled.type: {
      const d = event.data;
      return { ...state, devices: patch(state.devices, d.uuid, { status: 'enabled' }) };
    }
    case DeviceDraining.type: {
      const d = event.data;
      return { ...state, devices: patch(state.devices, d.uuid, { draining: true }) };
    }
    case DeviceRemoved.type: {
      const d = event.data;
      return { ...state, devices: without(state.devices, d.uuid) };
    }
    case DeployableAdded.type:
    case DeployableUpdated.type: {
      const d = event.data;
      const known = state.deployables.get(d.uuid);
      const deployable: DeployableState = {
        uuid: d.uuid,
        deviceUuid: d.deviceUuid,
        name: d.name,
        parentUuid: d.parentUuid,
        rootUuid: d.rootUuid,
        rpUuid: d.rpUuid,
        numAccelerators: d.numAccelerators,
        driverName: d.driverName,
        draining: false,
        bitstreamId: known?.bitstreamId ?? null,
        functionId: known?.functionId ?? null,
        functionTrait: known?.functionTrait ?? null,
        programmingUntil: known?.programmingUntil ?? null,
      };
      return { ...state, deployables: put(state.deployables, deployable) };
    }
    case DeployableProgrammed.type: {
      const d = event.data;
      return {
        ...state,
        deployables: patch(state.deployables, d.uuid, {
          bitstreamId: d.bitstreamId,
          functionId: d.functionId,
          functionTrait: d.functionTrait,
          programmingUntil: null,
        }),
      };
    }
    case DeployableProgrammingStarted.type: {
      const d = event.data;
      return { ...state, deployables: patch(state.deployables, d.uuid, { programmingUntil: d.deadline }) };
    }
    case DeployableProgrammingFailed.type: {
      const d = event.data;
      return { ...state, deployables: patch(state.deployables, d.uuid, { programmingUntil: null }) };
    }
    case DeployableDraining.type: {
      const d = event.data;
      return { ...state, deployables: patch(state.deployables, d.uuid, { draining: true }) };
    }
    case DeployableRemoved.type: {
      const d = event.data;
      return { ...state, deployables: without(state.deployables, d.uuid) };
    }
    case AttachHandleAdded.type:
    case AttachHandleUpdated.type: {
      const d = event.data;
      const known = state.attachHandles.get(d.uuid);
      const handle: AttachHandleState = {
        uuid: d.uuid,
        deployableUuid: d.deployableUuid,
        deviceUuid: d.deviceUuid,
        type: d.type,
        info: d.info,
        // A report never frees a handle: allocation is only changed by binding.
        inUse: known?.inUse ?? false,
        allocatedTo: known?.allocatedTo ?? null,
        attempt: known?.attempt ?? null,
        boundBefore: known?.boundBefore ?? false,
        draining: false,
      };
      return { ...state, attachHandles: put(state.attachHandles, handle) };
    }
    case AttachHandleAllocated.type: {
      const d = event.data;
      return {
        ...state,
        attachHandles: patch(state.attachHandles, d.uuid, {
          inUse: true,
          allocatedTo: d.arqUuid,
          attempt: d.attempt ?? null,
          boundBefore: true,
        }),
      };
    }
    case AttachHandleReleased.type: {
      const d = event.data;
      return {
        ...state,
        attachHandles: patch(state.attachHandles, d.uuid, { inUse: false, allocatedTo: null, attempt: null }),
      };
    }
    case AttachHandleDraining.type: {
      const d = event.data;
      return { ...state, attachHandles: patch(state.attachHandles, d.uuid, { draining: true }) };
    }
    case AttachHandleRemoved.type: {
      const d = event.data;
      return { ...state, attachHandles: without(state.attachHandles, d.uuid) };
    }
    case AttributeAdded.type: {
      const d = event.data;
      const attribute: AttributeState = {
        uuid: d.uuid,
        deployableUuid: d.deployableUuid,
        key: d.key,
        value: d.value,
        source: d.source,
      };
      return { ...state, attributes: put(state.attributes, attribute) };
    }
    case AttributeUpdated.type: {
      const d = event.data;
      return { ...state, attributes: patch(state.attributes, d.uuid, { value: d.value }) };
    }
    case AttributeRemoved.type: {
      const d = event.data;
      return { ...state, attributes: without(state.attributes, d.uuid) };
    }
    case InventoryReported.type: {
      const d = event.data;
      return { ...state, lastReport: { generation: d.generation, hash: d.hash } };
    }
    default:
      return state;
  }
}

function put<T extends { uuid: string }>(map: ReadonlyMap<string, T>, value: T): ReadonlyMap<string, T> {
  const next = new Map(map);
  next.set(value.uuid, value);
  return next;
}

function patch<T extends { uuid: string }>(
  map: ReadonlyMap<string, T>,
  uuid: string,
  change: Partial<T>,
): ReadonlyMap<string, T> {
  const known = map.get(uuid);
  return known ? put(map, { ...known, ...change }) : map;
}

function without<T>(map: ReadonlyMap<string, T>, uuid: string): ReadonlyMap<string, T> {
  if (!map.has(uuid)) return map;
  const next = new Map(map);
  next.delete(uuid);
  return next;
}
