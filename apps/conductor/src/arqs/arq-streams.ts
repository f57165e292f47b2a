import { Injectable } from '@nestjs/common';
import { type CallerDto, Streams, visibilityOf } from '@cyborg/contracts';
import {
  type ArqCaller,
  type ArqState,
  evolveArq,
  evolveHost,
  type HostState,
  initialArqState,
  initialHostState,
} from '@cyborg/domain';
import { type EventMetadata, EventStore, type StreamState, StreamStateCache } from '@cyborg/event-store';

/** Folded ARQ and host streams, cached: loading an unchanged stream reads nothing but an empty result. */
@Injectable()
export class ArqStreams {
  private readonly arqs: StreamStateCache<ArqState>;
  private readonly hosts: StreamStateCache<HostState>;

  constructor(readonly store: EventStore) {
    this.arqs = new StreamStateCache(store, initialArqState, evolveArq);
    this.hosts = new StreamStateCache(store, initialHostState, evolveHost, 1000);
  }

  arq(uuid: string): Promise<StreamState<ArqState>> {
    return this.arqs.load(Streams.arq(uuid));
  }

  host(hostname: string): Promise<StreamState<HostState>> {
    return this.hosts.load(Streams.host(hostname));
  }
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
