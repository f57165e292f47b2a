import type { Event } from '../event';
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

export type AttachHandleAddedV1 = {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  deviceUuid: string;
  type: AttachHandleTypeV1;
  /** Upstream's `attach_info` JSON string, byte for byte. */
  info: string;
};

export type AttachHandleUpdatedV1 = AttachHandleAddedV1;

export type AttachHandleDrainingV1 = {
  hostname: string;
  uuid: string;
  deployableUuid: string;
};

export type AttachHandleRemovedV1 = {
  hostname: string;
  uuid: string;
  deployableUuid: string;
};

export type AttachHandleAdded = Event<typeof AttachHandleAdded.type, AttachHandleAddedV1>;
export type AttachHandleUpdated = Event<typeof AttachHandleUpdated.type, AttachHandleUpdatedV1>;
export type AttachHandleDraining = Event<typeof AttachHandleDraining.type, AttachHandleDrainingV1>;
export type AttachHandleRemoved = Event<typeof AttachHandleRemoved.type, AttachHandleRemovedV1>;
