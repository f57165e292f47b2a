import { AttachHandleAllocated, AttachHandleReleased } from './attach-handle-allocation.v1';
import { ArqBindFailed, ArqBindStarted, ArqBound, ArqDeleted, ArqUnbound } from './arq-events.v1';
import { ArqCreated } from './arq-created.v2';
import { InstanceArqsBound, InstanceArqsReleased } from './instance-arqs.v1';
import { ArqDeviceHealthChanged } from './arq-device-health.v1';

export * from './arq-events.v1';
export * from './arq-created.v2';
export * from './attach-handle-allocation.v1';
export * from './instance-arqs.v1';
export * from './arq-device-health.v1';

/** ARQ streams' events, and the host-stream events of binding. */
export const arqEventSchemas = [
  ArqCreated,
  ArqBindStarted,
  ArqBound,
  ArqBindFailed,
  ArqUnbound,
  ArqDeleted,
  AttachHandleAllocated,
  AttachHandleReleased,
  InstanceArqsBound,
  InstanceArqsReleased,
  ArqDeviceHealthChanged,
] as const;

/** Stream `arq-<uuid>`. */
export type ArqEvent =
  ArqCreated | ArqBindStarted | ArqBound | ArqBindFailed | ArqUnbound | ArqDeleted | ArqDeviceHealthChanged;
/** The host-stream events of binding: a handle taken and given back. */
export type AttachHandleAllocationEvent = AttachHandleAllocated | AttachHandleReleased;
/** Stream `instance-<uuid>`. */
export type InstanceEvent = InstanceArqsBound | InstanceArqsReleased;
