import type { InventorySnapshot, ReportedDevice } from '@cyborg/contracts';
import { type DiscoveredDevice, type HostInventory, inventoryHash } from './inventory';

/** What an agent reports of a discovered inventory: its hash and each device as the contract has it. */
export function inventorySnapshot(inventory: HostInventory): InventorySnapshot {
  return {
    hostname: inventory.hostname,
    inventoryHash: inventoryHash(inventory),
    devices: inventory.devices.map(reportedDevice),
  };
}

/** Only the fields of the contract: the conductor refuses unknown ones, and the hash covers only these. */
export function reportedDevice(device: DiscoveredDevice): ReportedDevice {
  return {
    type: device.type,
    vendor: device.vendor,
    model: device.model,
    std_board_info: device.std_board_info,
    vendor_board_info: device.vendor_board_info,
    controlPathId: { type: device.controlPathId.type, info: { ...device.controlPathId.info } },
    driverName: device.driverName,
    deployables: device.deployables.map((d) => ({
      name: d.name,
      numAccelerators: d.numAccelerators,
      driverName: d.driverName,
      ...(d.parentName === undefined ? {} : { parentName: d.parentName }),
      attributes: d.attributes.map((a) => ({ key: a.key, value: a.value })),
      attachHandles: d.attachHandles.map((h) => ({ type: h.type, info: h.info })),
    })),
    // Healthy is sent as nothing, as agents before health did.
    ...(device.health && (device.health.status !== 'healthy' || device.health.reasons.length > 0)
      ? {
          health: {
            status: device.health.status,
            reasons: device.health.reasons.map((r) => ({
              code: r.code,
              message: r.message,
              ...(r.evidence ? { evidence: { ...r.evidence } } : {}),
            })),
          },
        }
      : {}),
  };
}
