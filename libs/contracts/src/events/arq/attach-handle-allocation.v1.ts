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
  /**
   * The ARQ's bind attempt that took the handle. Only added and optional (no new schema
   * version): events written before it name none, and a reader then matches on the ARQ alone.
   */
  attempt?: number;
};

export type AttachHandleReleasedV1 = Omit<AttachHandleAllocatedV1, 'attempt'>;

export type AttachHandleAllocated = Event<typeof AttachHandleAllocated.type, AttachHandleAllocatedV1>;
export type AttachHandleReleased = Event<typeof AttachHandleReleased.type, AttachHandleReleasedV1>;
