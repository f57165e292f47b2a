import type { CyborgEvent } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { evolveHost, initialHostState } from '../host/host';
import { evolveInstance, initialInstanceState } from '../instance/instance';
import { DeciderSpecification } from '../testing/decider-specification';
import { arqCreated, deadline, hostname, hostWithHandles, now, project, rp } from '../testing/fixtures';
import type { ArqCaller } from './arq.decide';
import { evolveArq, initialArqState } from './arq.state';
import {
  type ArqBatchEvents,
  type ArqBatchState,
  type BindArqs,
  decideBindArqs,
  decideReleaseArqs,
  type ReleaseArqs,
} from './arq-batch.decide';

const a = '11111111-1111-4111-8111-111111111111';
const b = '22222222-2222-4222-8222-222222222222';
const c = '33333333-3333-4333-8333-333333333333';
const instance = '506220bc-18f2-4294-9b29-80267a021dc0';
const otherInstance = '7d3f2f4e-4c3b-4d7e-9d55-0c8d5b1c1f00';

const nova: ArqCaller = { projectId: project, admin: false, service: true };
const user: ArqCaller = { projectId: project, admin: false, service: false };

const ARQ_EVENTS = new Set(['ArqCreated', 'ArqBindStarted', 'ArqBound', 'ArqBindFailed', 'ArqUnbound', 'ArqDeleted']);

/** The ARQ, host and instance streams a batch decides on, each event folded into its own stream. */
function evolveBatch(state: ArqBatchState, event: CyborgEvent): ArqBatchState {
  if (ARQ_EVENTS.has(event.type) && 'uuid' in event.data) {
    const arqs = new Map(state.arqs);
    arqs.set(event.data.uuid, evolveArq(state.arqs.get(event.data.uuid) ?? initialArqState, event));
    return { ...state, arqs };
  }
  if (event.type === 'InstanceArqsBound' || event.type === 'InstanceArqsReleased') {
    const instances = new Map(state.instances);
    const id = event.data.instanceUuid;
    instances.set(id, evolveInstance(state.instances.get(id) ?? initialInstanceState, event));
    return { ...state, instances };
  }
  const host = 'hostname' in event.data ? event.data.hostname : undefined;
  if (host !== undefined) {
    const hosts = new Map(state.hosts);
    hosts.set(host, evolveHost(state.hosts.get(host) ?? initialHostState, event));
    return { ...state, hosts };
  }
  return state;
}

const initial: ArqBatchState = { arqs: new Map(), hosts: new Map(), instances: new Map() };
const binding = (uuid: string, instanceUuid = instance) => ({
  uuid,
  hostname,
  deviceRpUuid: rp,
  instanceUuid,
  projectId: project,
});
const bind = (bindings: ReturnType<typeof binding>[], caller = nova): BindArqs => ({ bindings, caller, deadline, now });

const binds = DeciderSpecification({ decide: decideBindArqs, evolve: evolveBatch, initial });
const releases = DeciderSpecification({ decide: decideReleaseArqs, evolve: evolveBatch, initial });

/** Every event of a batch decision, as the log would then hold them. */
function eventsOf(decision: ArqBatchEvents | DomainError): CyborgEvent[] {
  if (decision instanceof DomainError) throw new Error(decision.message);
  return [...decision.arqs.values(), ...decision.hosts.values(), ...decision.instances.values()].flat();
}

/** The log after binding `uuids` to `instance` on a host with `handles` handles. */
function givenBound(handles: number, ...uuids: string[]): CyborgEvent[] {
  const before = [...hostWithHandles(handles), ...uuids.map(arqCreated)];
  const state = before.reduce(evolveBatch, initial);
  return [...before, ...eventsOf(decideBindArqs(bind(uuids.map((u) => binding(u))), state))];
}

describe('binding ARQs in one request', () => {
  it('starts each bind against the host state the previous one left: two ARQs, two handles', () => {
    const decision = binds
      .given([...hostWithHandles(2), arqCreated(a), arqCreated(b)])
      .when(bind([binding(a), binding(b)]))
      .thenMatches({ states: { [a]: 'BindStarted', [b]: 'BindStarted' }, failure: null });
    if (decision instanceof DomainError) throw new Error(decision.message);
    const handles = decision.started.map((s) => s.attachHandle.uuid);
    expect(new Set(handles).size).toBe(2);
    expect(decision.started.map((s) => [s.uuid, s.attempt, s.deadline])).toEqual([
      [a, 1, deadline],
      [b, 1, deadline],
    ]);
    expect(decision.hosts.get(hostname)?.map((e) => e.type)).toEqual([
      'AttachHandleAllocated',
      'AttachHandleAllocated',
    ]);
    expect(decision.instances.get(instance)).toEqual([
      { type: 'InstanceArqsBound', data: { instanceUuid: instance, arqUuids: [a, b] } },
    ]);
  });

  it('fails at once the bind that finds no free handle, and answers it as the first failure', () => {
    const decision = binds
      .given([...hostWithHandles(1), arqCreated(a), arqCreated(b)])
      .when(bind([binding(a), binding(b)]))
      .thenMatches({
        states: { [a]: 'BindStarted', [b]: 'BindFailed' },
        failure: { arqUuid: b, error: { code: 'no_free_attach_handle' } },
      });
    if (decision instanceof DomainError) throw new Error(decision.message);
    expect(decision.started.map((s) => s.uuid)).toEqual([a]);
    expect(decision.arqs.get(b)?.map((e) => e.type)).toEqual(['ArqBindFailed']);
  });

  it('needs a service token', () => {
    binds
      .given([...hostWithHandles(1), arqCreated(a)])
      .when(bind([binding(a)], user))
      .thenRefuses({ kind: 'forbidden', code: 'service_token_required' });
  });

  it('refuses an instance that has other ARQs already, decided from its stream; another instance is free', () => {
    const log = [...givenBound(2, a), arqCreated(c)];
    binds
      .given(log)
      .when(bind([binding(c)]))
      .thenRefuses({
        kind: 'invalid',
        code: 'instance_has_arqs',
        message: `Couldn't apply patch. Reason: Instance ${instance} already has accelerator requests. Cannot bind additional ARQs.`,
      });
    binds
      .given(log)
      .when(bind([binding(c, otherInstance)]))
      .thenMatches({ states: { [c]: 'BindStarted' } });
  });

  it('checks every ARQ before any bind: one unknown ARQ or one named twice binds none', () => {
    const log = [...hostWithHandles(2), arqCreated(a)];
    binds
      .given(log)
      .when(bind([binding(a), binding(b)]))
      .thenRefuses({ kind: 'not_found', code: 'arq_not_found' });
    binds
      .given(log)
      .when(bind([binding(a), binding(a)]))
      .thenRefuses({ kind: 'invalid', code: 'arq_repeated' });
  });
});

describe('releasing ARQs in one request', () => {
  const deleteByInstance = (uuids: string[]): ReleaseArqs => ({
    kind: 'delete',
    uuids,
    caller: nova,
    instanceUuid: instance,
  });

  it('deleting by instance gives the handle back and takes the ARQ off its instance, with the handle for the agent', () => {
    const decision = releases
      .given(givenBound(1, a))
      .when(deleteByInstance([a]))
      .thenMatches({ done: [a], released: [{ arqUuid: a, hostname, attempt: 1 }] });
    if (decision instanceof DomainError) throw new Error(decision.message);
    expect(decision.hosts.get(hostname)?.map((e) => e.type)).toEqual(['AttachHandleReleased']);
    expect(decision.instances.get(instance)).toEqual([
      { type: 'InstanceArqsReleased', data: { instanceUuid: instance, arqUuids: [a] } },
    ]);
  });

  it('leaves the handle free for the next bind: the one handle of the host goes to the next ARQ', () => {
    const log = givenBound(1, a);
    const deleted = eventsOf(decideReleaseArqs(deleteByInstance([a]), log.reduce(evolveBatch, initial)));
    binds
      .given([...log, ...deleted, arqCreated(b)])
      .when(bind([binding(b)]))
      .thenMatches({ states: { [b]: 'BindStarted' }, failure: null });
  });

  it('unbinding needs a service token; a missing ARQ is answered before a forbidden one, and nothing changes', () => {
    const log = givenBound(1, a);
    releases
      .given(log)
      .when({ kind: 'unbind', uuids: [a], caller: user })
      .thenRefuses({ kind: 'forbidden' });
    releases
      .given(log)
      .when({ kind: 'delete', uuids: [a, c], caller: user })
      .thenRefuses({ kind: 'not_found', code: 'arq_not_found' });
  });

  it('by instance, skips an ARQ not bound to it, and appends nothing for one already gone', () => {
    releases
      .given(givenBound(1, a))
      .when({ kind: 'delete', uuids: [a, c], caller: nova, instanceUuid: otherInstance })
      .then({ arqs: new Map(), hosts: new Map(), instances: new Map(), done: [], released: [] });
  });
});
