import type { Event } from '../event';
import type { DeviceProfileGroup } from '../device-profile-created.v1';
import type { AttachHandleTypeV1 } from '../inventory/attach-handle-events.v1';

/**
 * Stream `arq-<uuid>`: one accelerator request, from creation to deletion.
 * States follow Cyborg's (§10) with its holes closed: every bind ends in
 * `Bound` or `BindFailed`, and the attach handle a bind took is held until
 * unbind or delete releases it.
 */
// ArqCreated is at schema version 2 (arq-created.v2.ts); its v1 shape stays here for the upcaster.

/** The host stream allocated a handle to the ARQ; the host's agent is preparing it. */
export const ArqBindStarted = { type: 'ArqBindStarted', schemaVersion: 1 } as const;
export const ArqBound = { type: 'ArqBound', schemaVersion: 1 } as const;
export const ArqBindFailed = { type: 'ArqBindFailed', schemaVersion: 1 } as const;
export const ArqUnbound = { type: 'ArqUnbound', schemaVersion: 1 } as const;
export const ArqDeleted = { type: 'ArqDeleted', schemaVersion: 1 } as const;

export type ArqCreatedV1 = {
  uuid: string;
  deviceProfileUuid: string;
  deviceProfileName: string;
  /** Index of the group in the profile's `groups`. */
  deviceProfileGroupId: number;
  /** The group as it was at creation: later changes to the profile never reach a running ARQ. */
  deviceProfileGroup: DeviceProfileGroup;
  /** The creator's project; null when the caller had none (then only admins see it). */
  projectId: string | null;
  /** ISO 8601, the conductor's clock. */
  createdAt: string;
};

/** The attach handle a bind holds, with what the agent needs to prepare it. */
export type HeldAttachHandleV1 = {
  uuid: string;
  type: AttachHandleTypeV1;
  /** The handle's attach info JSON string, as the driver reported it. */
  info: string;
  deployableUuid: string;
  deployableName: string;
  deviceUuid: string;
  /** The agent driver that reported the device; it prepares and releases the handle. */
  driverName: string;
};

export type ArqBindStartedV1 = {
  uuid: string;
  /** Counts the ARQ's binds from 1; the agent's job id is `<uuid>:<attempt>`. */
  attempt: number;
  hostname: string;
  deviceRpUuid: string;
  instanceUuid: string;
  projectId: string | null;
  attachHandle: HeldAttachHandleV1;
  /** ISO 8601: by then the bind has ended, in `Bound` or `BindFailed`. */
  deadline: string;
  /** The bitstream the agent programs before handing the handle out; absent when none is needed. */
  programming?: ProgrammingRequestV1;
};

/**
 * What a device profile group asks a deployable to be programmed with
 * (`accel:bitstream_id` or `accel:function_id`, never both).
 */
export type ProgrammingRequestV1 = {
  bitstreamId: string | null;
  functionId: string | null;
};

/** The agent prepared the handle: what Nova's virt driver attaches. */
export type ArqBoundV1 = {
  uuid: string;
  attempt: number;
  /** The instance bound to; absent from the earliest events (then read from the bind's BindStarted). */
  instanceUuid?: string;
  attachHandleUuid: string;
  attachHandleType: AttachHandleTypeV1;
  attachHandleInfo: string;
};

export type ArqBindFailedV1 = {
  uuid: string;
  attempt: number;
  hostname: string;
  deviceRpUuid: string;
  instanceUuid: string;
  projectId: string | null;
  /** Why, in words an operator can act on. */
  reason: string;
  /** True when the ARQ still holds the handle its bind took (until unbind or delete). */
  holdsAttachHandle: boolean;
};

export type ArqUnboundV1 = {
  uuid: string;
  /** The handle released with it, if it held one. */
  releasedAttachHandleUuid: string | null;
  /** Set when this ended a bind still in progress: Nova hears that bind failed. */
  interruptedBind?: InterruptedBindV1;
};

export type ArqDeletedV1 = {
  uuid: string;
  releasedAttachHandleUuid: string | null;
  interruptedBind?: InterruptedBindV1;
};

export type InterruptedBindV1 = {
  attempt: number;
  instanceUuid: string;
};

export type ArqBindStarted = Event<typeof ArqBindStarted.type, ArqBindStartedV1>;
export type ArqBound = Event<typeof ArqBound.type, ArqBoundV1>;
export type ArqBindFailed = Event<typeof ArqBindFailed.type, ArqBindFailedV1>;
export type ArqUnbound = Event<typeof ArqUnbound.type, ArqUnboundV1>;
export type ArqDeleted = Event<typeof ArqDeleted.type, ArqDeletedV1>;
