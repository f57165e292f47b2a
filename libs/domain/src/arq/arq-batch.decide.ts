import {
  type ArqBindStartedV1,
  ArqBindStarted,
  type ArqEvent,
  type HeldAttachHandleV1,
  type HostEvent,
  InstanceArqsBound,
  InstanceArqsReleased,
  type InstanceEvent,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { fold } from '../domain-event';
import { evolveHost, type HostState, initialHostState } from '../host/host';
import { initialInstanceState, type InstanceState } from '../instance/instance';
import { type ArqCaller, checkBindable, decideBindArq, decideDeleteArq, decideUnbindArq } from './arq.decide';
import { ArqErrors } from './arq.errors';
import type { Arq, ArqState } from './arq.state';

/** The streams a batch decides on, folded, by ARQ uuid, hostname and instance uuid. */
export interface ArqBatchState {
  arqs: ReadonlyMap<string, ArqState>;
  hosts: ReadonlyMap<string, HostState>;
  instances: ReadonlyMap<string, InstanceState>;
}

/** What a batch appends, by stream: ARQ uuid, hostname, instance uuid. Streams without events are absent. */
export interface ArqBatchEvents {
  arqs: Map<string, ArqEvent[]>;
  hosts: Map<string, HostEvent[]>;
  instances: Map<string, InstanceEvent[]>;
}

export interface Binding {
  uuid: string;
  hostname: string;
  deviceRpUuid: string;
  instanceUuid: string;
  /** The project the bind is for; the caller's, else the ARQ's, when absent. */
  projectId?: string | null;
}

export interface BindArqs {
  bindings: readonly Binding[];
  caller: ArqCaller;
  /** ISO 8601: when every bind must have ended. Chosen once per command, so a retried decision keeps it. */
  deadline: string;
  /** ISO 8601: the deciding conductor's clock. */
  now: string;
}

export interface BindArqsDecision extends ArqBatchEvents {
  /** Each ARQ's state after the decision. */
  states: Record<string, 'BindStarted' | 'BindFailed'>;
  /** The binds that started: the work for the hosts' agents. */
  started: ArqBindStartedV1[];
  /** The first bind that failed at once, and why; null when all started. */
  failure: { arqUuid: string; error: DomainError } | null;
}

/** The streams a bind decides on besides the ARQs': the hosts and instances it names. */
export function streamsOfBind(bindings: readonly Binding[]): { hostnames: string[]; instances: string[] } {
  return {
    hostnames: [...new Set(bindings.map((b) => b.hostname))],
    instances: [...new Set(bindings.map((b) => b.instanceUuid))],
  };
}

/**
 * Binds ARQs (Cyborg §10.3, holes closed). A service token is needed; every
 * ARQ is checked before any changes, and an instance that has ARQs already
 * takes no others. Then each bind takes a free handle against the host state
 * the previous bind left, so a batch never gives one handle twice; a bind
 * that cannot start fails at once (BindFailed, with the reason). Every ARQ
 * bound, started or failed, belongs to its instance from then on.
 */
export function decideBindArqs(command: BindArqs, state: ArqBatchState): BindArqsDecision | DomainError {
  const { bindings, caller } = command;
  if (!caller.service) return ArqErrors.serviceTokenRequired();
  if (new Set(bindings.map((b) => b.uuid)).size !== bindings.length) return ArqErrors.repeatedInPatch();
  const checked: Arq[] = [];
  for (const binding of bindings) {
    const arq = checkBindable(binding.uuid, state.arqs.get(binding.uuid) ?? { arq: null, deleted: false }, caller);
    if (arq instanceof DomainError) return arq;
    checked.push(arq);
  }
  const inBatch = new Set(bindings.map((b) => b.uuid));
  for (const instanceUuid of streamsOfBind(bindings).instances) {
    const holds = [...(state.instances.get(instanceUuid) ?? initialInstanceState).arqs];
    if (holds.some((uuid) => !inBatch.has(uuid))) return ArqErrors.instanceHasArqs(instanceUuid);
  }

  const events: ArqBatchEvents = { arqs: new Map(), hosts: new Map(), instances: new Map() };
  const hosts = new Map(state.hosts);
  const decision: BindArqsDecision = { ...events, states: {}, started: [], failure: null };
  bindings.forEach((binding, i) => {
    const host = hosts.get(binding.hostname) ?? initialHostState;
    const bind = decideBindArq(
      {
        hostname: binding.hostname,
        deviceRpUuid: binding.deviceRpUuid,
        instanceUuid: binding.instanceUuid,
        projectId: binding.projectId ?? caller.projectId ?? checked[i].projectId,
        deadline: command.deadline,
        now: command.now,
      },
      checked[i],
      host,
    );
    // The next ARQ on this host decides against the state after this one's allocation.
    hosts.set(binding.hostname, fold(bind.hostEvents, evolveHost, host));
    push(decision.hosts, binding.hostname, bind.hostEvents);
    push(decision.arqs, binding.uuid, bind.arqEvents);
    decision.states[binding.uuid] = bind.failure ? 'BindFailed' : 'BindStarted';
    if (bind.failure && !decision.failure) decision.failure = { arqUuid: binding.uuid, error: bind.failure };
    for (const event of bind.arqEvents) if (event.type === ArqBindStarted.type) decision.started.push(event.data);
  });
  for (const instanceUuid of streamsOfBind(bindings).instances) {
    const arqUuids = bindings.filter((b) => b.instanceUuid === instanceUuid).map((b) => b.uuid);
    push(decision.instances, instanceUuid, [{ type: InstanceArqsBound.type, data: { instanceUuid, arqUuids } }]);
  }
  return decision;
}

export interface ReleaseArqs {
  /** Unbind keeps the ARQ (Initial again); delete ends it. */
  kind: 'unbind' | 'delete';
  uuids: readonly string[];
  caller: ArqCaller;
  /** Deleting by instance: only ARQs still bound to it go, and a missing one is no error. */
  instanceUuid?: string;
}

/** A handle given back, for the host's agent to tidy (remove an mdev). */
export interface ReleasedHandle {
  arqUuid: string;
  hostname: string;
  handle: HeldAttachHandleV1;
  /** The bind that took it; the agent's job id is `<uuid>:<attempt>:release`. */
  attempt: number;
}

export interface ReleaseArqsDecision extends ArqBatchEvents {
  /** The ARQs unbound or deleted, in the request's order; those already so are absent. */
  done: string[];
  released: ReleasedHandle[];
}

/** The streams a release decides on besides the ARQs': the hosts of the handles they hold, and their instances. */
export function streamsOfRelease(arqs: Iterable<ArqState>): { hostnames: string[]; instances: string[] } {
  const hostnames = new Set<string>();
  const instances = new Set<string>();
  for (const { arq } of arqs) {
    if (arq?.holding) hostnames.add(arq.holding.hostname);
    if (arq?.instanceUuid) instances.add(arq.instanceUuid);
  }
  return { hostnames: [...hostnames], instances: [...instances] };
}

/**
 * Unbind or delete ARQs, all or none: each ARQ's events and the release of
 * the handle it holds (then the removal of whatever drained and now holds
 * nothing) go together, so no handle is ever left in use without an ARQ
 * holding it, and the ARQs leave their instance. Two ARQs on one host: the
 * second decides on the state after the first. Unbinding needs a service
 * token; deleting a bound ARQ too. Cyborg answers a missing ARQ (404) before
 * a forbidden one (403), and then changes nothing.
 */
export function decideReleaseArqs(command: ReleaseArqs, state: ArqBatchState): ReleaseArqsDecision | DomainError {
  const { caller } = command;
  if (command.kind === 'unbind' && !caller.service) return ArqErrors.serviceTokenRequired();
  const decision: ReleaseArqsDecision = {
    arqs: new Map(),
    hosts: new Map(),
    instances: new Map(),
    done: [],
    released: [],
  };
  const hosts = new Map(state.hosts);
  const refusals: DomainError[] = [];
  const leaving = new Map<string, string[]>();
  for (const uuid of new Set(command.uuids)) {
    const arqState = state.arqs.get(uuid) ?? { arq: null, deleted: false };
    const holding = arqState.arq?.holding ?? null;
    const host = (holding && hosts.get(holding.hostname)) || initialHostState;
    const release =
      command.kind === 'unbind'
        ? decideUnbindArq(uuid, caller, arqState, host)
        : decideDeleteArq({ uuid, caller, instanceUuid: command.instanceUuid }, arqState, host);
    if (release instanceof DomainError) {
      refusals.push(release);
      continue;
    }
    if (release.arqEvents.length === 0) continue;
    decision.done.push(uuid);
    push(decision.arqs, uuid, release.arqEvents);
    if (holding) {
      hosts.set(holding.hostname, fold(release.hostEvents, evolveHost, host));
      push(decision.hosts, holding.hostname, release.hostEvents);
      const attempt = arqState.arq?.attempt ?? 0;
      decision.released.push({ arqUuid: uuid, hostname: holding.hostname, handle: holding.handle, attempt });
    }
    const instanceUuid = arqState.arq?.instanceUuid;
    if (instanceUuid && state.instances.get(instanceUuid)?.arqs.has(uuid)) {
      leaving.set(instanceUuid, [...(leaving.get(instanceUuid) ?? []), uuid]);
    }
  }
  const refusal = refusals.find((r) => r.kind === 'not_found') ?? refusals[0];
  if (refusal) return refusal;
  for (const [instanceUuid, arqUuids] of leaving) {
    push(decision.instances, instanceUuid, [{ type: InstanceArqsReleased.type, data: { instanceUuid, arqUuids } }]);
  }
  return decision;
}

/** The ARQs a delete by instance removes: those the request names and those the instance's stream holds. */
export function arqsOfInstanceDelete(named: readonly string[], instance: InstanceState): string[] {
  return [...new Set([...named, ...instance.arqs])];
}

function push<E>(map: Map<string, E[]>, key: string, events: readonly E[]): void {
  if (events.length === 0) return;
  map.set(key, [...(map.get(key) ?? []), ...events]);
}
