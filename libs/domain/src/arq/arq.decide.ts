import {
  ArqBindFailed,
  type ArqBindFailedV1,
  ArqBindStarted,
  type ArqBindStartedV1,
  ArqBound,
  type ArqBoundV1,
  ArqCreated,
  type ArqCreatedV2,
  ArqDeleted,
  type ArqDeletedV1,
  ArqUnbound,
  type ArqUnboundV1,
  canSee,
  type DeviceProfileGroup,
  resourcesOfGroup,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import type { ArqEvent, HostEvent } from '@cyborg/contracts';
import type { DeviceProfileState } from '../device-profile/device-profile';
import { DeviceProfileErrors } from '../device-profile/device-profile.errors';
import { decideAllocateAttachHandle, decideReleaseAttachHandle } from '../host/attach-handle-allocation';
import { decideBindProgramming, type ProgrammedBitstream, programmingRequestOf } from '../host/programming';
import { bindHealthMark } from '../host/device-health';
import type { HostState } from '../host/host';
import { ArqErrors } from './arq.errors';
import type { Arq, ArqState } from './arq.state';

/** Who asks, as the ARQ rules need it (Cyborg §5.7). */
export interface ArqCaller {
  projectId: string | null;
  /** The `admin` role: sees every project's ARQs. */
  admin: boolean;
  /** A valid service token (Nova): needed to bind, unbind, and delete a bound ARQ. */
  service: boolean;
}

/** Another project's ARQ is invisible (404, never 403); ARQs without a project are admins' only. */
export function isArqVisible(arq: Pick<Arq, 'projectId'>, caller: ArqCaller): boolean {
  return canSee({ allProjects: caller.admin, projectId: caller.projectId }, arq.projectId);
}

/**
 * How many ARQs each group asks for (Cyborg §5.2): the sum of its
 * `resources*` amounts; a Xilinx FPGA group needs two (management and user
 * functions) per FPGA.
 */
export function arqCountsOfGroups(groups: readonly DeviceProfileGroup[]): number[] {
  return groups.map((group) => {
    if (group['trait:CUSTOM_FPGA_XILINX'] === 'required') return 2 * amount(group['resources:FPGA']);
    return Object.entries(group)
      .filter(([key]) => key.startsWith('resources'))
      .reduce((sum, [, value]) => sum + amount(value), 0);
  });
}

const amount = (value: string | undefined) => {
  const n = Number.parseInt(value ?? '0', 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/**
 * The resource class of each ARQ of a group, in creation order: each
 * `resources:<class>` entry's amount in the group's key order (twice per
 * FPGA for a Xilinx group), so arqCountsOfGroups counts the same units.
 */
export function arqResourceClassesOfGroup(group: DeviceProfileGroup): string[] {
  if (group['trait:CUSTOM_FPGA_XILINX'] === 'required') {
    return Array<string>(2 * amount(group['resources:FPGA'])).fill('FPGA');
  }
  return resourcesOfGroup(group).flatMap(({ resourceClass, amount: n }) => Array<string>(n).fill(resourceClass));
}

export interface CreateArqs {
  deviceProfileName: string;
  projectId: string | null;
  now: string;
  /** Fresh uuids, at least as many as the profile asks for; chosen by the caller so this stays pure. */
  uuids: readonly string[];
  maxArqs: number;
}

export interface NewArq {
  uuid: string;
  events: ArqEvent[];
  created: ArqCreatedV2;
}

/** One ARQ per requested unit of each group, in group order, each holding a copy of its group. */
export function decideCreateArqs(command: CreateArqs, profile: DeviceProfileState): NewArq[] | DomainError {
  const current = profile.profile;
  if (!current || current.name !== command.deviceProfileName) {
    return DeviceProfileErrors.notFoundByName(command.deviceProfileName);
  }
  const counts = arqCountsOfGroups(current.groups);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total > command.maxArqs) return ArqErrors.tooMany(current.name, total, command.maxArqs);
  if (command.uuids.length < total) throw new Error(`decideCreateArqs needs ${total} uuids`);
  const arqs: NewArq[] = [];
  counts.forEach((count, groupId) => {
    const resourceClasses = arqResourceClassesOfGroup(current.groups[groupId]);
    for (let i = 0; i < count; i++) {
      const created: ArqCreatedV2 = {
        uuid: command.uuids[arqs.length],
        deviceProfileUuid: current.uuid,
        deviceProfileName: current.name,
        deviceProfileGroupId: groupId,
        deviceProfileGroup: { ...current.groups[groupId] },
        projectId: command.projectId,
        createdAt: command.now,
        resourceClass: resourceClasses[i] ?? null,
      };
      arqs.push({ uuid: created.uuid, created, events: [{ type: ArqCreated.type, data: { ...created } }] });
    }
  });
  return arqs;
}

const BINDABLE_FROM = ['Initial', 'Unbound'] as const;

/** A bind's preconditions, checked for every ARQ of a request before any is bound. */
export function checkBindable(uuid: string, state: ArqState, caller: ArqCaller): Arq | DomainError {
  const arq = state.arq;
  if (!arq || !isArqVisible(arq, caller)) return ArqErrors.notFound(uuid);
  if (!(BINDABLE_FROM as readonly string[]).includes(arq.state))
    return ArqErrors.badState(arq.state, uuid, BINDABLE_FROM);
  return arq;
}

export interface BindArq {
  hostname: string;
  deviceRpUuid: string;
  instanceUuid: string;
  projectId: string | null;
  /** ISO 8601: when the bind must have ended. */
  deadline: string;
  /** ISO 8601: the deciding conductor's clock. */
  now: string;
}

export interface BindDecision {
  arqEvents: ArqEvent[];
  /** For `host-<hostname>`: the allocation; none when the bind failed at once. */
  hostEvents: HostEvent[];
  /** Why the bind failed at once (recorded as BindFailed); null when it started. */
  failure: DomainError | null;
}

/**
 * Starts a bind: allocates a free handle of the deployable on that host, in
 * the same decision as BindStarted. What makes the bind impossible (unknown
 * host or resource provider, disabled or draining device, no free handle)
 * ends it at once in BindFailed with the reason, never left BindStarted.
 */
export function decideBindArq(command: BindArq, arq: Arq, host: HostState): BindDecision {
  const attempt = arq.attempt + 1;
  const fail = (failure: DomainError): BindDecision => {
    const failed: ArqBindFailedV1 = {
      uuid: arq.uuid,
      attempt,
      hostname: command.hostname,
      deviceRpUuid: command.deviceRpUuid,
      instanceUuid: command.instanceUuid,
      projectId: command.projectId,
      reason: failure.message,
      holdsAttachHandle: false,
    };
    return { arqEvents: [{ type: ArqBindFailed.type, data: { ...failed } }], hostEvents: [], failure };
  };
  const request = programmingRequestOf(arq.deviceProfileGroup);
  if (request instanceof DomainError) return fail(request);
  const allocation = decideAllocateAttachHandle(
    { hostname: command.hostname, rpUuid: command.deviceRpUuid, arqUuid: arq.uuid, attempt, now: command.now },
    host,
  );
  if (allocation instanceof DomainError) return fail(allocation);
  const { handle, deployable, device } = allocation;
  const programming = request ? decideBindProgramming(request, deployable, host, arq.uuid) : null;
  if (programming instanceof DomainError) return fail(programming);
  const started: ArqBindStartedV1 = {
    uuid: arq.uuid,
    attempt,
    hostname: command.hostname,
    deviceRpUuid: command.deviceRpUuid,
    instanceUuid: command.instanceUuid,
    projectId: command.projectId,
    attachHandle: {
      uuid: handle.uuid,
      type: handle.type,
      info: handle.info,
      deployableUuid: deployable.uuid,
      deployableName: deployable.name,
      deviceUuid: device.uuid,
      driverName: device.driverName,
    },
    deadline: command.deadline,
    ...(programming ? { programming } : {}),
  };
  return {
    arqEvents: [
      { type: ArqBindStarted.type, data: { ...started } },
      // Degraded is still schedulable; the ARQ shows what its device reports.
      ...bindHealthMark(arq.uuid, command.hostname, device, handle.uuid),
    ],
    hostEvents: allocation.events,
    failure: null,
  };
}

/** How the agent's part of a bind ended; `programmed` when it programmed the deployable first. */
export type BindOutcome = { ok: true; programmed?: ProgrammedBitstream } | { ok: false; reason: string };

export interface ConfirmBind {
  attempt: number;
  outcome: BindOutcome;
}

/**
 * Ends a bind with the agent's answer (or the deadline's). An ARQ that moved
 * on meanwhile (unbound, deleted, bound again) gets nothing. A failed bind
 * keeps its handle until unbind or delete: the agent may still be touching it.
 */
export function decideConfirmBind(command: ConfirmBind, state: ArqState): ArqEvent[] {
  const arq = state.arq;
  if (!arq || arq.state !== 'BindStarted' || arq.attempt !== command.attempt || !arq.holding) return [];
  if (command.outcome.ok) {
    const { handle } = arq.holding;
    const bound: ArqBoundV1 = {
      uuid: arq.uuid,
      attempt: arq.attempt,
      ...(arq.instanceUuid ? { instanceUuid: arq.instanceUuid } : {}),
      attachHandleUuid: handle.uuid,
      attachHandleType: handle.type,
      attachHandleInfo: handle.info,
    };
    return [{ type: ArqBound.type, data: { ...bound } }];
  }
  const failed: ArqBindFailedV1 = {
    uuid: arq.uuid,
    attempt: arq.attempt,
    hostname: arq.hostname ?? arq.holding.hostname,
    deviceRpUuid: arq.deviceRpUuid ?? '',
    instanceUuid: arq.instanceUuid ?? '',
    projectId: arq.projectId,
    reason: command.outcome.reason,
    holdsAttachHandle: true,
  };
  return [{ type: ArqBindFailed.type, data: { ...failed } }];
}

export interface ReleaseDecision {
  arqEvents: ArqEvent[];
  /** For `host-<hostname>` of the handle released: the release, then what drained and now goes. */
  hostEvents: HostEvent[];
}

/** The host stream whose handle an ARQ holds, which an unbind or delete must load. */
export function hostOfHeldHandle(state: ArqState): string | null {
  return state.arq?.holding?.hostname ?? null;
}

function release(arq: Arq, host: HostState): { uuid: string | null; hostEvents: HostEvent[] } {
  if (!arq.holding) return { uuid: null, hostEvents: [] };
  const { hostname, handle } = arq.holding;
  return {
    uuid: handle.uuid,
    hostEvents: decideReleaseAttachHandle({ hostname, handleUuid: handle.uuid, arqUuid: arq.uuid }, host),
  };
}

/**
 * Cyborg's unbind: from any state, clears the bind fields and always gives
 * the handle back, also from BindStarted and BindFailed. An ARQ already
 * unbound appends nothing.
 */
export function decideUnbindArq(
  uuid: string,
  caller: ArqCaller,
  state: ArqState,
  host: HostState,
): ReleaseDecision | DomainError {
  const arq = state.arq;
  if (!arq || !isArqVisible(arq, caller)) return ArqErrors.notFound(uuid);
  if (arq.state === 'Unbound' && !arq.holding) return { arqEvents: [], hostEvents: [] };
  const released = release(arq, host);
  const unbound: ArqUnboundV1 = {
    uuid: arq.uuid,
    releasedAttachHandleUuid: released.uuid,
    ...interruptedBindOf(arq),
  };
  return { arqEvents: [{ type: ArqUnbound.type, data: { ...unbound } }], hostEvents: released.hostEvents };
}

export interface DeleteArq {
  uuid: string;
  caller: ArqCaller;
  /** Deleting by instance: only an ARQ still bound to it goes, and a missing one is no error. */
  instanceUuid?: string;
}

/** Delete releases what the ARQ holds; a bound ARQ needs a service token (§5.7). */
export function decideDeleteArq(command: DeleteArq, state: ArqState, host: HostState): ReleaseDecision | DomainError {
  const arq = state.arq;
  const byInstance = command.instanceUuid !== undefined;
  if (!arq || !isArqVisible(arq, command.caller)) {
    return byInstance ? { arqEvents: [], hostEvents: [] } : ArqErrors.notFound(command.uuid);
  }
  if (byInstance && arq.instanceUuid !== command.instanceUuid) return { arqEvents: [], hostEvents: [] };
  if (arq.instanceUuid !== null && !command.caller.service)
    return ArqErrors.boundToInstance(arq.uuid, arq.instanceUuid);
  const released = release(arq, host);
  const deleted: ArqDeletedV1 = { uuid: arq.uuid, releasedAttachHandleUuid: released.uuid, ...interruptedBindOf(arq) };
  return { arqEvents: [{ type: ArqDeleted.type, data: { ...deleted } }], hostEvents: released.hostEvents };
}

/** An unbind or delete that ends a bind in progress records it, so Nova hears that bind failed. */
function interruptedBindOf(arq: Arq): Pick<ArqUnboundV1, 'interruptedBind'> {
  if (arq.state !== 'BindStarted' || !arq.instanceUuid) return {};
  return { interruptedBind: { attempt: arq.attempt, instanceUuid: arq.instanceUuid } };
}
