/**
 * Stream `host-<hostname>`: what a guest is given (a VF's address, an mdev).
 * Identified within its deployable by type and exact attach info.
 */
export const AttachHandleAdded = { type: 'AttachHandleAdded', schemaVersion: 1 } as const;
/** A draining handle that the host reports again. */
export const AttachHandleUpdated = { type: 'AttachHandleUpdated', schemaVersion: 1 } as const;
/** The handle vanished from the host while in use: kept until released. */
export const AttachHandleDraining = { type: 'AttachHandleDraining', schemaVersion: 1 } as const;
export const AttachHandleRemoved = { type: 'AttachHandleRemoved', schemaVersion: 1 } as const;

/** `TEST_PCI` is the fake driver's: Nova deliberately attaches nothing for it. */
export type AttachHandleTypeV1 = 'PCI' | 'MDEV' | 'TEST_PCI';

export interface AttachHandleAddedV1 {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  deviceUuid: string;
  type: AttachHandleTypeV1;
  /** Upstream's `attach_info` JSON string, byte for byte. */
  info: string;
}

export type AttachHandleUpdatedV1 = AttachHandleAddedV1;

export interface AttachHandleDrainingV1 {
  hostname: string;
  uuid: string;
  deployableUuid: string;
}

export interface AttachHandleRemovedV1 {
  hostname: string;
  uuid: string;
  deployableUuid: string;
}
