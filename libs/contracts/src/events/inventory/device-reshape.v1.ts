import type { Event } from '../event';

/**
 * Stream `host-<hostname>`: an admin asked for a device to be carved up
 * differently (vGPU type, MIG layout, number of SR-IOV VFs). The host's agent
 * applies it while nothing on the device is bound, then reports the new
 * inventory; binds to the device wait meanwhile.
 */
export const DeviceReshapeRequested = { type: 'DeviceReshapeRequested', schemaVersion: 1 } as const;
export const DeviceReshapeApplied = { type: 'DeviceReshapeApplied', schemaVersion: 1 } as const;
export const DeviceReshapeFailed = { type: 'DeviceReshapeFailed', schemaVersion: 1 } as const;

/** What the device should become; exactly one member is set. */
export type DeviceReshapeSpecV1 = {
  /** The vGPU type of the GPU, or of each of its VFs (SR-IOV vGPU): an mdev type or NVIDIA type id. */
  vgpuType?: string;
  /** MIG GPU instances to create, by profile name (`1g.10gb`, `3g.40gb`, ...), in order. */
  migProfiles?: string[];
  /** The number of SR-IOV VFs of the PF. */
  numVfs?: number;
};

/** `wait`: applied once the device's last bound ARQ lets go; `refuse`: refused while anything is bound. */
export type ReshapeWhenBusyV1 = 'wait' | 'refuse';

export type DeviceReshapeRequestedV1 = {
  hostname: string;
  /** The device. */
  uuid: string;
  reshapeId: string;
  spec: DeviceReshapeSpecV1;
  whenBusy: ReshapeWhenBusyV1;
  /** ARQs holding handles of the device when asked; the reshape waits for them to let go. */
  waitingFor: string[];
};

export type DeviceReshapeAppliedV1 = {
  hostname: string;
  uuid: string;
  reshapeId: string;
  spec: DeviceReshapeSpecV1;
};

export type DeviceReshapeFailedV1 = {
  hostname: string;
  uuid: string;
  reshapeId: string;
  spec: DeviceReshapeSpecV1;
  reasons: string[];
};

export type DeviceReshapeRequested = Event<typeof DeviceReshapeRequested.type, DeviceReshapeRequestedV1>;
export type DeviceReshapeApplied = Event<typeof DeviceReshapeApplied.type, DeviceReshapeAppliedV1>;
export type DeviceReshapeFailed = Event<typeof DeviceReshapeFailed.type, DeviceReshapeFailedV1>;
