import type { Event } from '../event';
/**
 * Stream `host-<hostname>`: binding takes and gives back attach handles here,
 * so allocation is decided against the host's state at a known version and
 * two binds can never hold one handle.
 */
export const AttachHandleAllocated = { type: 'AttachHandleAllocated', schemaVersion: 1 } as const;
export const AttachHandleReleased = { type: 'AttachHandleReleased', schemaVersion: 1 } as const;

export type AttachHandleAllocatedV1 = {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  arqUuid: string;
};

export type AttachHandleReleasedV1 = AttachHandleAllocatedV1;

export type AttachHandleAllocated = Event<typeof AttachHandleAllocated.type, AttachHandleAllocatedV1>;
export type AttachHandleReleased = Event<typeof AttachHandleReleased.type, AttachHandleReleasedV1>;
