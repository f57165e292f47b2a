import {
  ArqBindFailed,
  ArqBindStarted,
  type ArqBindStartedV1,
  ArqBound,
  ArqCreated,
  ArqDeleted,
  ArqUnbound,
  type DeviceProfileGroup,
  type HeldAttachHandleV1,
  type ProgrammingRequestV1,
} from '@cyborg/contracts';
import type { CyborgEvent } from '@cyborg/contracts';

/**
 * Cyborg's ARQ states (§10.1). `UnbindFailed` and `Deleting` exist upstream
 * but nothing reaches them: releasing a handle cannot fail here, and a delete
 * is one step.
 */
export type ArqStateName = 'Initial' | 'BindStarted' | 'Bound' | 'BindFailed' | 'Unbound';

/** What Nova waits for: `bind_state=resolved`, and the status of its event (§10.1). */
export const RESOLVED_ARQ_STATES: readonly string[] = ['Bound', 'BindFailed', 'Deleting'];

export function novaStatusOf(state: string): 'completed' | 'failed' | null {
  if (state === 'Bound') return 'completed';
  return RESOLVED_ARQ_STATES.includes(state) ? 'failed' : null;
}

/** An attach handle an ARQ holds on a host: from BindStarted until unbind or delete, also after BindFailed. */
export interface HeldAttachHandle {
  hostname: string;
  handle: HeldAttachHandleV1;
}

export interface Arq {
  uuid: string;
  state: ArqStateName;
  deviceProfileUuid: string;
  deviceProfileName: string;
  deviceProfileGroupId: number;
  /** Copied at creation: what the ARQ asks for, whatever later happens to the profile. */
  deviceProfileGroup: DeviceProfileGroup;
  /** The resource class of the unit of the group this ARQ stands for; null when an old event did not say. */
  resourceClass: string | null;
  projectId: string | null;
  hostname: string | null;
  deviceRpUuid: string | null;
  instanceUuid: string | null;
  /** Binds started or failed so far; the current bind's number. */
  attempt: number;
  holding: HeldAttachHandle | null;
  /** Deadline of the bind in progress (ISO 8601); null unless BindStarted. */
  deadline: string | null;
  /** The programming the bind in progress does first; null when none (or not BindStarted). */
  programming: ProgrammingRequestV1 | null;
  /** The bind in progress as its BindStarted recorded it: what its job drives; null unless BindStarted. */
  bind: ArqBindStartedV1 | null;
  createdAt: string;
}

/** Stream `arq-<uuid>`, folded. */
export interface ArqState {
  arq: Arq | null;
  /** A deleted ARQ's uuid is never used again. */
  deleted: boolean;
}

export const initialArqState: ArqState = { arq: null, deleted: false };

export function evolveArq(state: ArqState, event: CyborgEvent): ArqState {
  const arq = state.arq;
  switch (event.type) {
    case ArqCreated.type: {
      const d = event.data;
      return {
        deleted: false,
        arq: {
          uuid: d.uuid,
          state: 'Initial',
          deviceProfileUuid: d.deviceProfileUuid,
          deviceProfileName: d.deviceProfileName,
          deviceProfileGroupId: d.deviceProfileGroupId,
          deviceProfileGroup: d.deviceProfileGroup,
          resourceClass: d.resourceClass ?? null,
          projectId: d.projectId,
          hostname: null,
          deviceRpUuid: null,
          instanceUuid: null,
          attempt: 0,
          holding: null,
          deadline: null,
          programming: null,
          bind: null,
          createdAt: d.createdAt,
        },
      };
    }
    case ArqBindStarted.type: {
      if (!arq) return state;
      const d = event.data;
      return {
        ...state,
        arq: {
          ...arq,
          state: 'BindStarted',
          hostname: d.hostname,
          deviceRpUuid: d.deviceRpUuid,
          instanceUuid: d.instanceUuid,
          projectId: d.projectId,
          attempt: d.attempt,
          holding: { hostname: d.hostname, handle: d.attachHandle },
          deadline: d.deadline,
          programming: d.programming ?? null,
          bind: d,
        },
      };
    }
    case ArqBound.type:
      return arq ? { ...state, arq: { ...arq, state: 'Bound', deadline: null, programming: null, bind: null } } : state;
    case ArqBindFailed.type: {
      if (!arq) return state;
      const d = event.data;
      return {
        ...state,
        arq: {
          ...arq,
          state: 'BindFailed',
          hostname: d.hostname,
          deviceRpUuid: d.deviceRpUuid,
          instanceUuid: d.instanceUuid,
          projectId: d.projectId,
          attempt: d.attempt,
          holding: d.holdsAttachHandle ? arq.holding : null,
          deadline: null,
          programming: null,
          bind: null,
        },
      };
    }
    case ArqUnbound.type:
      return arq
        ? {
            ...state,
            arq: {
              ...arq,
              state: 'Unbound',
              hostname: null,
              deviceRpUuid: null,
              instanceUuid: null,
              holding: null,
              deadline: null,
              programming: null,
              bind: null,
            },
          }
        : state;
    case ArqDeleted.type:
      return { arq: null, deleted: true };
    default:
      return state;
  }
}
