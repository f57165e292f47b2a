import {
  AttachHandleAdded,
  type AttachHandleAddedV1,
  AttachHandleDraining,
  AttachHandleRemoved,
  AttachHandleUpdated,
  AttributeAdded,
  type AttributeAddedV1,
  AttributeRemoved,
  AttributeUpdated,
  DeployableAdded,
  type DeployableAddedV1,
  DeployableDraining,
  DeployableRemoved,
  DeployableUpdated,
  DeviceAdded,
  type DeviceAddedV1,
  DeviceDraining,
  DeviceRemoved,
  DeviceUpdated,
  InventoryReported,
  type ReportedDeployable,
  type ReportedDevice,
  ReportInventoryErrors,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import type { HostEvent } from '@cyborg/contracts';
import type { HostState } from './host';
import {
  agentAttributeUuid,
  attachHandleUuid,
  controlPathKey,
  deployableUuid,
  deviceUuid,
  resourceProviderUuid,
} from './inventory-ids';
import type { DeployableState, DeviceState, InventoryState } from './inventory.state';
import { DEFAULT_HEALTH_POLICY, decideHealthChanges, type HealthPolicy } from './device-health';

/** An agent's full snapshot of its host. */
export interface InventoryReport {
  hostname: string;
  generation: number;
  /** sha256 of the canonical snapshot; equal to the recorded one means nothing changed. */
  inventoryHash: string;
  devices: readonly ReportedDevice[];
}

/** Devices, deployables, handles and attributes in one report; keeps one report inside one append. */
export const MAX_INVENTORY_ENTITIES = 4000;

/** The cheap check done before anything else: the host reports what is already recorded. */
export function isUnchangedInventory(report: Pick<InventoryReport, 'inventoryHash'>, state: HostState): boolean {
  return state.inventory.lastReport?.hash === report.inventoryHash;
}

/**
 * Turns a snapshot into the changes since the recorded inventory, closed by
 * InventoryReported; an unchanged snapshot gives no events at all. What
 * vanished is removed, except what holds an attach handle in use: that
 * drains (kept, unusable) until binding releases it, and never blocks the
 * rest of the report. Operator-made attributes survive every report, unless
 * the agent comes to report the same key on their deployable.
 */
export function decideReportInventory(
  report: InventoryReport,
  state: HostState,
  health: HealthPolicy = DEFAULT_HEALTH_POLICY,
): HostEvent[] | DomainError {
  if (isUnchangedInventory(report, state)) return [];
  const { hostname } = report;
  if (!state.registered) {
    return new DomainError(
      'conflict',
      ReportInventoryErrors.hostNotRegistered,
      `Host ${hostname} is not registered; its agent must register before reporting inventory.`,
    );
  }
  const last = state.inventory.lastReport;
  if (last && report.generation <= last.generation) {
    return new DomainError(
      'conflict',
      ReportInventoryErrors.staleReport,
      `Inventory report generation ${report.generation} of host ${hostname} is not newer than the recorded generation ${last.generation}.`,
    );
  }
  const problem = checkInventoryReport(report);
  if (problem) return new DomainError('invalid', 'invalid_inventory', `Inventory of host ${hostname}: ${problem}`);

  const desired = desiredInventory(report);
  return [
    ...removeVanished(hostname, state.inventory, desired.present),
    ...addOrUpdate(state.inventory, desired.devices),
    // After the adds, so a device reported unhealthy from the start has a record to change.
    ...decideHealthChanges(hostname, report.devices, state, health),
    { type: InventoryReported.type, data: { hostname, generation: report.generation, hash: report.inventoryHash } },
  ];
}

/**
 * Removes what drained and no longer holds a handle in use; for binding to
 * call once it releases a handle. Appends no InventoryReported: the host's
 * last report already lacked these.
 */
export function decideDrainedRemovals(hostname: string, state: HostState): HostEvent[] {
  const inventory = state.inventory;
  const notDraining = (map: ReadonlyMap<string, { draining: boolean }>) => (uuid: string) =>
    map.get(uuid)?.draining === false;
  return removeVanished(hostname, inventory, {
    device: notDraining(inventory.devices),
    deployable: notDraining(inventory.deployables),
    attachHandle: notDraining(inventory.attachHandles),
    // Attributes of a deployable that stays are kept as they are.
    attribute: () => true,
    agentKey: () => false,
  });
}

interface Presence {
  device(uuid: string): boolean;
  deployable(uuid: string): boolean;
  attachHandle(uuid: string): boolean;
  attribute(uuid: string): boolean;
  /** The agent reports this key on this deployable. */
  agentKey(deployableUuid: string, key: string): boolean;
}

interface DesiredDeployable {
  deployable: DeployableAddedV1;
  attributes: AttributeAddedV1[];
  attachHandles: AttachHandleAddedV1[];
}

interface DesiredDevice {
  device: DeviceAddedV1;
  /** Parents before children. */
  deployables: DesiredDeployable[];
}

/** The snapshot as the records it should become, with their derived uuids. */
function desiredInventory(report: InventoryReport): { devices: DesiredDevice[]; present: Presence } {
  const { hostname } = report;
  const uuids = {
    device: new Set<string>(),
    deployable: new Set<string>(),
    attachHandle: new Set<string>(),
    attribute: new Set<string>(),
    agentKey: new Set<string>(),
  };
  const devices = report.devices.map((reported): DesiredDevice => {
    const controlPath = controlPathKey(reported.controlPathId);
    const device: DeviceAddedV1 = {
      hostname,
      uuid: deviceUuid(hostname, controlPath),
      controlPath,
      controlPathId: {
        type: reported.controlPathId.type,
        info: {
          domain: reported.controlPathId.info.domain,
          bus: reported.controlPathId.info.bus,
          device: reported.controlPathId.info.device,
          function: reported.controlPathId.info.function,
        },
      },
      type: reported.type,
      vendor: reported.vendor,
      model: reported.model,
      stdBoardInfo: reported.std_board_info ?? null,
      vendorBoardInfo: reported.vendor_board_info ?? null,
      driverName: reported.driverName,
    };
    uuids.device.add(device.uuid);
    const byName = new Map(reported.deployables.map((d) => [d.name, d]));
    const ancestry = (d: ReportedDeployable): string[] => {
      const names: string[] = [];
      for (let p = d.parentName; p !== undefined; p = byName.get(p)?.parentName) names.push(p);
      return names;
    };
    const ordered = [...reported.deployables]
      .map((d) => ({ reported: d, ancestors: ancestry(d) }))
      .sort((a, b) => a.ancestors.length - b.ancestors.length || compare(a.reported.name, b.reported.name));
    const deployables = ordered.map(({ reported: d, ancestors }): DesiredDeployable => {
      const uuid = deployableUuid(hostname, d.name);
      uuids.deployable.add(uuid);
      const root = ancestors[ancestors.length - 1];
      const attributes = d.attributes.map((a): AttributeAddedV1 => {
        const attribute = {
          hostname,
          uuid: agentAttributeUuid(hostname, d.name, a.key),
          deployableUuid: uuid,
          key: a.key,
          value: a.value,
          source: 'agent' as const,
        };
        uuids.attribute.add(attribute.uuid);
        uuids.agentKey.add(JSON.stringify([uuid, a.key]));
        return attribute;
      });
      const attachHandles = d.attachHandles.map((h): AttachHandleAddedV1 => {
        const handle = {
          hostname,
          uuid: attachHandleUuid(hostname, d.name, h.type, h.info),
          deployableUuid: uuid,
          deviceUuid: device.uuid,
          type: h.type,
          info: h.info,
        };
        uuids.attachHandle.add(handle.uuid);
        return handle;
      });
      return {
        deployable: {
          hostname,
          uuid,
          deviceUuid: device.uuid,
          name: d.name,
          parentUuid: d.parentName === undefined ? null : deployableUuid(hostname, d.parentName),
          rootUuid: root === undefined ? null : deployableUuid(hostname, root),
          rpUuid: resourceProviderUuid(d.name),
          numAccelerators: d.numAccelerators,
          driverName: d.driverName,
        },
        attributes,
        attachHandles,
      };
    });
    return { device, deployables };
  });
  devices.sort((a, b) => compare(a.device.controlPath, b.device.controlPath));
  return {
    devices,
    present: {
      device: (uuid) => uuids.device.has(uuid),
      deployable: (uuid) => uuids.deployable.has(uuid),
      attachHandle: (uuid) => uuids.attachHandle.has(uuid),
      attribute: (uuid) => uuids.attribute.has(uuid),
      agentKey: (deployable, key) => uuids.agentKey.has(JSON.stringify([deployable, key])),
    },
  };
}

/**
 * Events for what is recorded but not present, children before parents.
 * A handle in use is kept (draining), and so are the deployables above it
 * and its device, so the tree it hangs from stays whole until it is released.
 */
function removeVanished(hostname: string, inventory: InventoryState, present: Presence): HostEvent[] {
  const keptHandles = [...inventory.attachHandles.values()].filter((h) => !present.attachHandle(h.uuid) && h.inUse);
  const keptDeployables = new Set<string>();
  const keptDevices = new Set<string>();
  for (const handle of keptHandles) {
    if (!present.device(handle.deviceUuid)) keptDevices.add(handle.deviceUuid);
    let d = inventory.deployables.get(handle.deployableUuid);
    while (d && !present.deployable(d.uuid) && !keptDeployables.has(d.uuid)) {
      keptDeployables.add(d.uuid);
      if (!present.device(d.deviceUuid)) keptDevices.add(d.deviceUuid);
      d = d.parentUuid === null ? undefined : inventory.deployables.get(d.parentUuid);
    }
  }

  const handlesOf = groupBy(
    inventory.attachHandles.values(),
    (h) => h.deployableUuid,
    (a, b) => compare(a.type, b.type) || compare(a.info, b.info),
  );
  const attributesOf = groupBy(
    inventory.attributes.values(),
    (a) => a.deployableUuid,
    (a, b) => compare(a.key, b.key) || compare(a.uuid, b.uuid),
  );
  const events: HostEvent[] = [];
  for (const group of byDevice(inventory)) {
    for (const deployable of group.deployables) {
      for (const handle of handlesOf.get(deployable.uuid) ?? []) {
        if (present.attachHandle(handle.uuid)) continue;
        const ids = { hostname, uuid: handle.uuid, deployableUuid: handle.deployableUuid };
        if (!handle.inUse) events.push({ type: AttachHandleRemoved.type, data: { ...ids } });
        else if (!handle.draining) events.push({ type: AttachHandleDraining.type, data: { ...ids } });
      }
      const stays = present.deployable(deployable.uuid);
      const kept = keptDeployables.has(deployable.uuid);
      for (const attribute of attributesOf.get(deployable.uuid) ?? []) {
        // A kept deployable keeps all its attributes: its resource provider still exists.
        // An operator's attribute gives way once the agent reports its key: one key per deployable.
        const goes = !stays
          ? !kept
          : attribute.source === 'agent'
            ? !present.attribute(attribute.uuid)
            : present.agentKey(deployable.uuid, attribute.key);
        if (goes) {
          events.push({
            type: AttributeRemoved.type,
            data: {
              hostname,
              uuid: attribute.uuid,
              deployableUuid: attribute.deployableUuid,
              key: attribute.key,
            },
          });
        }
      }
      if (stays) continue;
      if (!kept) {
        events.push({
          type: DeployableRemoved.type,
          data: {
            hostname,
            uuid: deployable.uuid,
            name: deployable.name,
            deviceUuid: deployable.deviceUuid,
          },
        });
      } else if (!deployable.draining) {
        events.push({
          type: DeployableDraining.type,
          data: { hostname, uuid: deployable.uuid, name: deployable.name },
        });
      }
    }
    const device = group.device;
    if (!device || present.device(device.uuid)) continue;
    const ids = { hostname, uuid: device.uuid, controlPath: device.controlPath };
    if (!keptDevices.has(device.uuid)) events.push({ type: DeviceRemoved.type, data: { ...ids } });
    else if (!device.draining) events.push({ type: DeviceDraining.type, data: { ...ids } });
  }
  return events;
}

/** Events for what is new or different, parents before children; a draining thing reported again is updated. */
function addOrUpdate(inventory: InventoryState, devices: readonly DesiredDevice[]): HostEvent[] {
  const events: HostEvent[] = [];
  for (const { device, deployables } of devices) {
    const knownDevice = inventory.devices.get(device.uuid);
    if (!knownDevice) events.push({ type: DeviceAdded.type, data: { ...device } });
    else if (knownDevice.draining || deviceChanged(knownDevice, device))
      events.push({ type: DeviceUpdated.type, data: { ...device } });

    for (const { deployable, attributes, attachHandles } of deployables) {
      const known = inventory.deployables.get(deployable.uuid);
      if (!known) events.push({ type: DeployableAdded.type, data: { ...deployable } });
      else if (known.draining || deployableChanged(known, deployable)) {
        events.push({ type: DeployableUpdated.type, data: { ...deployable } });
      }
      for (const attribute of attributes) {
        const knownAttribute = inventory.attributes.get(attribute.uuid);
        if (!knownAttribute) events.push({ type: AttributeAdded.type, data: { ...attribute } });
        else if (knownAttribute.value !== attribute.value) {
          const { hostname, uuid, deployableUuid, key, value } = attribute;
          events.push({ type: AttributeUpdated.type, data: { hostname, uuid, deployableUuid, key, value } });
        }
      }
      for (const handle of attachHandles) {
        const knownHandle = inventory.attachHandles.get(handle.uuid);
        if (!knownHandle) events.push({ type: AttachHandleAdded.type, data: { ...handle } });
        else if (knownHandle.draining || knownHandle.deviceUuid !== handle.deviceUuid) {
          events.push({ type: AttachHandleUpdated.type, data: { ...handle } });
        }
      }
    }
  }
  return events;
}

function deviceChanged(known: DeviceState, reported: DeviceAddedV1): boolean {
  return (
    known.type !== reported.type ||
    known.vendor !== reported.vendor ||
    known.model !== reported.model ||
    known.stdBoardInfo !== reported.stdBoardInfo ||
    known.vendorBoardInfo !== reported.vendorBoardInfo ||
    known.driverName !== reported.driverName
  );
}

function deployableChanged(known: DeployableState, reported: DeployableAddedV1): boolean {
  return (
    known.deviceUuid !== reported.deviceUuid ||
    known.parentUuid !== reported.parentUuid ||
    known.rootUuid !== reported.rootUuid ||
    known.rpUuid !== reported.rpUuid ||
    known.numAccelerators !== reported.numAccelerators ||
    known.driverName !== reported.driverName
  );
}

/** Recorded deployables grouped by device (control-path order), children before parents. */
function byDevice(inventory: InventoryState): { device: DeviceState | undefined; deployables: DeployableState[] }[] {
  const groups = new Map<string, DeployableState[]>();
  for (const device of inventory.devices.values()) groups.set(device.uuid, []);
  for (const deployable of inventory.deployables.values()) {
    const group = groups.get(deployable.deviceUuid);
    if (group) group.push(deployable);
    else groups.set(deployable.deviceUuid, [deployable]);
  }
  const depth = (d: DeployableState): number => {
    let n = 0;
    for (
      let p = d.parentUuid;
      p !== null && n <= inventory.deployables.size;
      p = inventory.deployables.get(p)?.parentUuid ?? null
    )
      n++;
    return n;
  };
  const key = (uuid: string) => inventory.devices.get(uuid)?.controlPath ?? `~${uuid}`;
  return [...groups.entries()]
    .sort(([a], [b]) => compare(key(a), key(b)))
    .map(([uuid, deployables]) => ({
      device: inventory.devices.get(uuid),
      deployables: deployables
        .map((d) => ({ d, depth: depth(d) }))
        .sort((a, b) => b.depth - a.depth || compare(a.d.name, b.d.name))
        .map(({ d }) => d),
    }));
}

function groupBy<T>(items: Iterable<T>, key: (item: T) => string, order: (a: T, b: T) => number): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  for (const group of groups.values()) group.sort(order);
  return groups;
}

/** What makes a snapshot ambiguous; null when it is sound. */
export function checkInventoryReport(report: InventoryReport): string | null {
  let entities = 0;
  const controlPaths = new Set<string>();
  const names = new Set<string>();
  const handles = new Set<string>();
  for (const device of report.devices) {
    const controlPath = controlPathKey(device.controlPathId);
    if (controlPaths.has(controlPath)) return `device ${controlPath} is reported twice`;
    controlPaths.add(controlPath);
    const local = new Map(device.deployables.map((d) => [d.name, d]));
    entities += 1 + device.deployables.length;
    for (const deployable of device.deployables) {
      if (names.has(deployable.name)) return `deployable name ${deployable.name} is reported twice`;
      names.add(deployable.name);
      if (deployable.parentName !== undefined) {
        if (!local.has(deployable.parentName)) {
          return `deployable ${deployable.name}: parent ${deployable.parentName} is not on the same device`;
        }
        const seen = new Set([deployable.name]);
        for (let p: string | undefined = deployable.parentName; p !== undefined; p = local.get(p)?.parentName) {
          if (seen.has(p)) return `deployable ${deployable.name}: its parents form a cycle`;
          seen.add(p);
        }
      }
      const keys = new Set<string>();
      for (const attribute of deployable.attributes) {
        if (keys.has(attribute.key))
          return `deployable ${deployable.name}: attribute ${attribute.key} is reported twice`;
        keys.add(attribute.key);
      }
      for (const handle of deployable.attachHandles) {
        const key = `${handle.type} ${handle.info}`;
        if (handles.has(key)) return `attach handle ${key} is reported twice`;
        handles.add(key);
      }
      entities += deployable.attributes.length + deployable.attachHandles.length;
    }
  }
  if (entities > MAX_INVENTORY_ENTITIES) {
    return `${entities} devices, deployables, attach handles and attributes exceed the limit of ${MAX_INVENTORY_ENTITIES}`;
  }
  // Every driver names its deployables `<host>_...` (the resource provider is uuid3 of the name):
  // a host claiming another's names would take over that host's providers.
  const own = [`${report.hostname}_`, `${report.hostname.replace(/\./g, '_')}_`];
  for (const name of names) {
    if (!own.some((prefix) => name.startsWith(prefix))) {
      return `deployable ${name} is not named for this host (a host reports only deployables named ${own[0]}...)`;
    }
  }
  return null;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
