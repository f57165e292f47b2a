import type { Event } from '../event';
/**
 * Stream `host-<hostname>`: the physical cards an agent reported. A device is
 * identified on its host by its control path (usually its PF address).
 */
export const DeviceAdded = { type: 'DeviceAdded', schemaVersion: 1 } as const;
export const DeviceUpdated = { type: 'DeviceUpdated', schemaVersion: 1 } as const;
/** The device vanished from the host while one of its attach handles is in use: kept until released. */
export const DeviceDraining = { type: 'DeviceDraining', schemaVersion: 1 } as const;
export const DeviceRemoved = { type: 'DeviceRemoved', schemaVersion: 1 } as const;
/** An operator took the device out of service (Cyborg's `maintaining`): binds to it are refused. */
export const DeviceDisabled = { type: 'DeviceDisabled', schemaVersion: 1 } as const;
export const DeviceEnabled = { type: 'DeviceEnabled', schemaVersion: 1 } as const;

/** Upstream's device types. */
export type DeviceTypeV1 = 'GPU' | 'FPGA' | 'AICHIP' | 'QAT' | 'NIC' | 'SSD';

/** A PCI function address, lower-case hex text as sysfs writes it. */
export type PciAddressV1 = {
  domain: string;
  bus: string;
  device: string;
  function: string;
};

export type ControlPathIdV1 = {
  type: 'PCI';
  info: PciAddressV1;
};

/** Everything the host says about a device: DeviceAdded, and DeviceUpdated with the new values. */
export type DeviceAddedV1 = {
  hostname: string;
  uuid: string;
  /** The identity key, e.g. `PCI:0000:5e:00.0`. */
  controlPath: string;
  controlPathId: ControlPathIdV1;
  type: DeviceTypeV1;
  vendor: string;
  model: string;
  /** A JSON string, as upstream stores and returns it. */
  stdBoardInfo: string | null;
  vendorBoardInfo: string | null;
  /** The agent driver that found it; programming and mdev work go back to it. */
  driverName: string;
};

/** The device as now reported (all fields); a draining device reported again stops draining. */
export type DeviceUpdatedV1 = DeviceAddedV1;

export type DeviceDrainingV1 = {
  hostname: string;
  uuid: string;
  controlPath: string;
};

export type DeviceRemovedV1 = {
  hostname: string;
  uuid: string;
  controlPath: string;
};

/** Cyborg's device `status` (µv 2.3): `maintaining` after disable. */
export type DeviceStatusV1 = 'enabled' | 'maintaining';

export type DeviceDisabledV1 = {
  hostname: string;
  uuid: string;
};

export type DeviceEnabledV1 = DeviceDisabledV1;

export type DeviceAdded = Event<typeof DeviceAdded.type, DeviceAddedV1>;
export type DeviceUpdated = Event<typeof DeviceUpdated.type, DeviceUpdatedV1>;
export type DeviceDraining = Event<typeof DeviceDraining.type, DeviceDrainingV1>;
export type DeviceRemoved = Event<typeof DeviceRemoved.type, DeviceRemovedV1>;
export type DeviceDisabled = Event<typeof DeviceDisabled.type, DeviceDisabledV1>;
export type DeviceEnabled = Event<typeof DeviceEnabled.type, DeviceEnabledV1>;
