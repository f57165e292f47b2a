import { type CallerDto, type CyborgEvent, Streams, visibilityOf } from '@cyborg/contracts';
import {
  ArqAggregate,
  type ArqBatchEvents,
  type ArqBatchState,
  type ArqCaller,
  type ArqState,
  HostAggregate,
  InstanceAggregate,
} from '@cyborg/domain';
import type { CommandHandler, Decision, EventMetadata, ReadStream } from '@cyborg/event-store';

/** The conductor's command handler: every command of the log's typed events goes through it. */
export type Commands = CommandHandler<CyborgEvent>;

/**
 * The ARQ streams a batch names, then the host and instance streams it
 * needs besides (which depend on the ARQs' states).
 */
export async function loadArqBatch(
  read: ReadStream<CyborgEvent>,
  arqUuids: readonly string[],
  others: (arqs: ArqState[]) => { hostnames: readonly string[]; instances: readonly string[] },
): Promise<ArqBatchState> {
  const arqs = await Promise.all(arqUuids.map((uuid) => read(ArqAggregate, Streams.arq(uuid))));
  const { hostnames, instances } = others(arqs.map((a) => a.state));
  const [hosts, instanceStates] = await Promise.all([
    Promise.all(hostnames.map((h) => read(HostAggregate, Streams.host(h)))),
    Promise.all(instances.map((i) => read(InstanceAggregate, Streams.instance(i)))),
  ]);
  return {
    arqs: new Map(arqUuids.map((uuid, i) => [uuid, arqs[i].state])),
    hosts: new Map(hostnames.map((h, i) => [h, hosts[i].state])),
    instances: new Map(instances.map((id, i) => [id, instanceStates[i].state])),
  };
}

/** A batch decision's events as appends to their streams. */
export function appendsOf(events: ArqBatchEvents): Decision<unknown, CyborgEvent>['appends'] {
  return [
    ...[...events.arqs].map(([uuid, e]) => ({ streamId: Streams.arq(uuid), events: e })),
    ...[...events.hosts].map(([hostname, e]) => ({ streamId: Streams.host(hostname), events: e })),
    ...[...events.instances].map(([uuid, e]) => ({ streamId: Streams.instance(uuid), events: e })),
  ];
}

/** The ARQ rules' view of a caller: `admin` is the role, a service token its own flag (Cyborg §1.2). */
export function arqCallerOf(caller: CallerDto): ArqCaller {
  const { allProjects, projectId } = visibilityOf(caller);
  return { projectId, admin: allProjects, service: caller.service };
}

/** The conductor itself, recorded on the events it decides alone (a bind's end), with why. */
export function conductorMetadata(reason?: string): EventMetadata {
  return { userId: null, projectId: null, roles: ['service'], service: true, ...(reason ? { reason } : {}) };
}
