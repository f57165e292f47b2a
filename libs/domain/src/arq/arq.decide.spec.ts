import { createHash } from 'node:crypto';
import type { ReportedDevice } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { DeciderSpecification } from '../testing/decider-specification';
import { type DomainEvent, fold } from '../domain-event';
import { evolveDeviceProfile, initialDeviceProfileState } from '../device-profile/device-profile';
import { decideSetDeviceStatus } from '../host/attach-handle-allocation';
import {
  decideHostDown,
  decideHostUp,
  decideRegisterHost,
  evolveHost,
  type HostState,
  initialHostState,
} from '../host/host';
import { decideRecordProgramming } from '../host/programming';
import { resourceProviderUuid } from '../host/inventory-ids';
import { decideReportInventory } from '../host/inventory.decide';
import {
  type ArqCaller,
  arqCountsOfGroups,
  arqResourceClassesOfGroup,
  checkBindable,
  decideBindArq,
  decideConfirmBind,
  decideCreateArqs,
  decideDeleteArq,
  decideUnbindArq,
} from './arq.decide';
import { type Arq, type ArqState, evolveArq, initialArqState, novaStatusOf } from './arq.state';

const hostname = 'compute-1';
const deployableName = `${hostname}_FakeDevice`;
const rp = resourceProviderUuid(deployableName);
const arqUuid = '89ec9c4d-73b2-4aaf-9225-485945aa7162';
const instance = '506220bc-18f2-4294-9b29-80267a021dc0';
const project = '8934fbea7b3f4685bd8ee7cf166a4c09';
const profileUuid = '5518a925-1c2c-49a2-a8bf-0927d9456f3e';
const now = '2026-07-21T10:00:00.000Z';
const deadline = '2026-07-21T10:01:00.000Z';

const nova: ArqCaller = { projectId: project, admin: false, service: true };
const user: ArqCaller = { projectId: project, admin: false, service: false };
const stranger: ArqCaller = { projectId: 'another-project', admin: false, service: true };

const handleInfo = (fn: number) => `{"domain": "0000", "bus": "0c", "device": "0", "function": "${fn}"}`;

/** The fake driver's FPGA with `handles` TEST_PCI handles. */
function fakeFpga(handles: number): ReportedDevice {
  return {
    type: 'FPGA',
    vendor: '0xABCD',
    model: 'miss model info',
    std_board_info: null,
    vendor_board_info: null,
    controlPathId: { type: 'PCI', info: { domain: '0000', bus: '0c', device: '00', function: '0' } },
    driverName: 'fake',
    deployables: [
      {
        name: deployableName,
        numAccelerators: handles,
        driverName: 'fake',
        attributes: [{ key: 'rc', value: 'FPGA' }],
        attachHandles: Array.from({ length: handles }, (_, i) => ({
          type: 'TEST_PCI' as const,
          info: handleInfo(i + 1),
        })),
      },
    ],
  };
}

let generation = 0;
function reported(devices: ReportedDevice[], state: HostState): HostState {
  const inventoryHash = createHash('sha256').update(JSON.stringify(devices)).digest('hex');
  const events = decideReportInventory({ hostname, generation: ++generation, inventoryHash, devices }, state);
  if (events instanceof DomainError) throw new Error(events.message);
  return fold(events, evolveHost, state);
}

/** Given a registered host whose fake FPGA has `handles` attach handles. */
function givenHost(handles = 2): HostState {
  const registered = fold(
    decideRegisterHost({ hostname, drivers: ['fake'], agentVersion: '0.1.0' }, initialHostState),
    evolveHost,
    initialHostState,
  );
  return reported([fakeFpga(handles)], registered);
}

const profileGroups = [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }];
const profile = (groups: Record<string, string>[] = profileGroups) =>
  fold(
    [
      {
        type: 'DeviceProfileCreated',
        data: { uuid: profileUuid, name: 'fpga-dp1', description: null, groups, createdAt: now },
      },
    ],
    evolveDeviceProfile,
    initialDeviceProfileState,
  );

const created = (uuid = arqUuid, group: Record<string, string> = profileGroups[0]): DomainEvent => ({
  type: 'ArqCreated',
  data: {
    uuid,
    deviceProfileUuid: profileUuid,
    deviceProfileName: 'fpga-dp1',
    deviceProfileGroupId: 0,
    deviceProfileGroup: group,
    projectId: project,
    createdAt: now,
    resourceClass: null,
  },
});

const givenArq = (...events: DomainEvent[]): ArqState => fold(events, evolveArq, initialArqState);

function bindable(state: ArqState, caller: ArqCaller = nova): Arq {
  const arq = checkBindable(arqUuid, state, caller);
  if (arq instanceof DomainError) throw new Error(arq.message);
  return arq;
}

const binding = { hostname, deviceRpUuid: rp, instanceUuid: instance, projectId: project, deadline, now };

/** Given an ARQ whose bind started on `host`: both streams after the decision. */
function givenBindStarted(host: HostState, uuid = arqUuid) {
  const arqState = givenArq(created(uuid));
  const arq = checkBindable(uuid, arqState, nova) as Arq;
  const decision = decideBindArq(binding, arq, host);
  if (decision.failure) throw new Error(decision.failure.message);
  return {
    arqEvents: [created(uuid), ...decision.arqEvents],
    arq: fold(decision.arqEvents, evolveArq, arqState),
    host: fold(decision.hostEvents, evolveHost, host),
  };
}

const types = (events: DomainEvent[]) => events.map((e) => e.type);
const failureOf = (result: unknown): DomainError => {
  if (!(result instanceof DomainError)) throw new Error('expected a refusal');
  return result;
};

describe('creating ARQs', () => {
  it('makes one ARQ per requested unit of each group, in group order, each with a copy of its group', () => {
    const groups: Record<string, string>[] = [
      { 'resources:FPGA': '2' },
      { 'resources:CUSTOM_NIC': '1', 'resources1:CUSTOM_X': '1' },
    ];
    const uuids = ['a', 'b', 'c', 'd', 'e'].map((c) => c.repeat(8) + '-0000-4000-8000-000000000000');
    const arqs = decideCreateArqs(
      { deviceProfileName: 'fpga-dp1', projectId: project, now, uuids, maxArqs: 100 },
      profile(groups),
    );
    if (arqs instanceof DomainError) throw new Error(arqs.message);
    expect(arqs.map((a) => [a.uuid, a.created.deviceProfileGroupId])).toEqual([
      [uuids[0], 0],
      [uuids[1], 0],
      [uuids[2], 1],
      [uuids[3], 1],
    ]);
    expect(arqs[2].events).toEqual([
      {
        type: 'ArqCreated',
        data: {
          uuid: uuids[2],
          deviceProfileUuid: profileUuid,
          deviceProfileName: 'fpga-dp1',
          deviceProfileGroupId: 1,
          deviceProfileGroup: groups[1],
          projectId: project,
          createdAt: now,
          resourceClass: 'CUSTOM_NIC',
        },
      },
    ]);
    expect(arqs[2].created.deviceProfileGroup).not.toBe(groups[1]);
    // The group's copy alone cannot tell its two ARQs apart: schema 2 records each one's resource class.
    expect(arqs.map((a) => a.created.resourceClass)).toEqual(['FPGA', 'FPGA', 'CUSTOM_NIC', 'CUSTOM_X']);
  });

  it('gives every ARQ of a Xilinx group the FPGA class, as many as it counts', () => {
    const group = { 'resources:FPGA': '2', 'trait:CUSTOM_FPGA_XILINX': 'required' };
    expect(arqResourceClassesOfGroup(group)).toEqual(['FPGA', 'FPGA', 'FPGA', 'FPGA']);
    expect(arqResourceClassesOfGroup(group)).toHaveLength(arqCountsOfGroups([group])[0]);
  });

  it('counts a Xilinx group twice (management and user functions), and a group without resources not at all', () => {
    expect(
      arqCountsOfGroups([
        { 'resources:FPGA': '2', 'trait:CUSTOM_FPGA_XILINX': 'required' },
        { 'trait:CUSTOM_X': 'required' },
        { 'resources:GPU': '3' },
      ]),
    ).toEqual([4, 0, 3]);
  });

  it("refuses an unknown profile in Cyborg's words, and more ARQs than allowed at once", () => {
    const command = { deviceProfileName: 'missing', projectId: project, now, uuids: [], maxArqs: 10 };
    expect(failureOf(decideCreateArqs(command, initialDeviceProfileState)).message).toBe(
      'Device Profile not found with name=missing',
    );
    const big = decideCreateArqs({ ...command, deviceProfileName: 'fpga-dp1' }, profile([{ 'resources:FPGA': '11' }]));
    expect(failureOf(big)).toMatchObject({ kind: 'invalid', code: 'too_many_arqs' });
  });
});

describe('binding an ARQ', () => {
  it('allocates a free handle on the host stream and starts the bind, in one decision', () => {
    const host = givenHost();
    const decision = decideBindArq(binding, bindable(givenArq(created())), host);
    expect(decision.failure).toBeNull();
    const handle = [...host.inventory.attachHandles.values()][0];
    expect(decision.hostEvents).toEqual([
      {
        type: 'AttachHandleAllocated',
        // The bind attempt that takes the handle, so the agent tells an earlier bind's late release from it.
        data: { hostname, uuid: handle.uuid, deployableUuid: handle.deployableUuid, arqUuid, attempt: 1 },
      },
    ]);
    expect(decision.arqEvents).toEqual([
      {
        type: 'ArqBindStarted',
        data: {
          uuid: arqUuid,
          attempt: 1,
          hostname,
          deviceRpUuid: rp,
          instanceUuid: instance,
          projectId: project,
          attachHandle: {
            uuid: handle.uuid,
            type: 'TEST_PCI',
            info: handleInfo(1),
            deployableUuid: handle.deployableUuid,
            deployableName,
            deviceUuid: handle.deviceUuid,
            driverName: 'fake',
          },
          deadline,
        },
      },
    ]);
  });

  it('never gives one handle twice: the next bind against the new host state takes the next handle, then none', () => {
    let host = givenHost(2);
    const taken: string[] = [];
    for (const uuid of ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222']) {
      const started = givenBindStarted(host, uuid);
      host = started.host;
      taken.push(started.arq.arq!.holding!.handle.uuid);
    }
    expect(new Set(taken).size).toBe(2);

    const third = decideBindArq(binding, bindable(givenArq(created())), host);
    expect(third.hostEvents).toEqual([]);
    expect(third.failure).toMatchObject({ code: 'no_free_attach_handle' });
    expect(third.arqEvents).toEqual([
      {
        type: 'ArqBindFailed',
        data: {
          uuid: arqUuid,
          attempt: 1,
          hostname,
          deviceRpUuid: rp,
          instanceUuid: instance,
          projectId: project,
          reason: expect.stringMatching(
            /all 2 attach handles of deployable compute-1_FakeDevice on host compute-1 are in use/,
          ),
          holdsAttachHandle: false,
        },
      },
    ]);
  });

  it('fails at once, with the reason, on an unknown resource provider or host', () => {
    const unknownRp = decideBindArq(
      { ...binding, deviceRpUuid: '03631f82-20a9-3f67-a29d-dc1abe4041bf' },
      bindable(givenArq(created())),
      givenHost(),
    );
    expect(unknownRp.failure?.message).toBe(
      `Deployable not found with resource provider uuid=03631f82-20a9-3f67-a29d-dc1abe4041bf on host ${hostname}`,
    );
    expect(types(unknownRp.arqEvents)).toEqual(['ArqBindFailed']);

    const unknownHost = decideBindArq(
      { ...binding, hostname: 'compute-9' },
      bindable(givenArq(created())),
      initialHostState,
    );
    expect(unknownHost.failure).toMatchObject({
      kind: 'not_found',
      message: 'Host compute-9 is not known: no agent has registered it.',
    });
  });

  it('refuses a disabled device, and one that left the host while a handle is in use', () => {
    const host = givenHost();
    const device = [...host.inventory.devices.values()][0];
    const disabledEvents = decideSetDeviceStatus({ hostname, deviceUuid: device.uuid, status: 'maintaining' }, host);
    if (disabledEvents instanceof DomainError) throw new Error(disabledEvents.message);
    const disabled = fold(disabledEvents, evolveHost, host);
    expect(decideBindArq(binding, bindable(givenArq(created())), disabled).failure).toMatchObject({
      code: 'device_disabled',
    });

    const { host: inUse } = givenBindStarted(host, '11111111-1111-4111-8111-111111111111');
    const gone = reported([], inUse);
    expect([...gone.inventory.devices.values()][0].draining).toBe(true);
    expect(decideBindArq(binding, bindable(givenArq(created())), gone).failure).toMatchObject({
      code: 'device_draining',
    });
  });

  describe('programming at bind (FPGA as a Service)', () => {
    const bitstream = 'd5ca2f11-8d1c-4fb0-9bd8-3c6ab0a0f0b7';
    const fpgaGroup = { 'resources:FPGA': '1', 'accel:bitstream_id': bitstream };
    const programmed = (host: HostState, functionId: string | null = null) => {
      const deployable = [...host.inventory.deployables.values()][0];
      const events = decideRecordProgramming(
        {
          hostname,
          deployableUuid: deployable.uuid,
          programmed: { bitstreamId: bitstream, functionId, checksum: { algorithm: 'sha512', value: 'ab' } },
          arqUuid: null,
        },
        host,
      );
      return fold(events, evolveHost, host);
    };

    it('starts the bind with what the agent must program first', () => {
      const decision = decideBindArq(binding, bindable(givenArq(created(arqUuid, fpgaGroup))), givenHost());
      expect(decision.failure).toBeNull();
      expect(decision.arqEvents[0].data).toMatchObject({ programming: { bitstreamId: bitstream, functionId: null } });
    });

    it('does not reprogram a deployable that carries the bitstream already', () => {
      const decision = decideBindArq(binding, bindable(givenArq(created(arqUuid, fpgaGroup))), programmed(givenHost()));
      expect(decision.failure).toBeNull();
      expect(decision.arqEvents[0].data).not.toHaveProperty('programming');
    });

    it('knows a function by the function id of the bitstream it carries', () => {
      const group = { 'resources:FPGA': '1', 'accel:function_id': 'nic-1.0' };
      const host = programmed(givenHost(), 'nic-1.0');
      const deployable = [...host.inventory.deployables.values()][0];
      expect(deployable.functionTrait).toBe('CUSTOM_FPGA_FUNCTION_ID_FAKE_NIC_1_0');
      const decision = decideBindArq(binding, bindable(givenArq(created(arqUuid, group))), host);
      expect(decision.arqEvents[0].data).not.toHaveProperty('programming');
    });

    it('refuses both a bitstream and a function, and a bitstream id that is not a uuid', () => {
      const both = { ...fpgaGroup, 'accel:function_id': 'f1' };
      expect(decideBindArq(binding, bindable(givenArq(created(arqUuid, both))), givenHost()).failure).toMatchObject({
        code: 'bitstream_and_function',
      });
      const bad = { 'resources:FPGA': '1', 'accel:bitstream_id': '../../etc/passwd' };
      expect(decideBindArq(binding, bindable(givenArq(created(arqUuid, bad))), givenHost()).failure).toMatchObject({
        code: 'invalid_bitstream_id',
      });
    });

    it('never reprograms a device another ARQ is using', () => {
      const { host } = givenBindStarted(givenHost(2), '11111111-1111-4111-8111-111111111111');
      const decision = decideBindArq(binding, bindable(givenArq(created(arqUuid, fpgaGroup))), host);
      expect(decision.hostEvents).toEqual([]);
      expect(decision.failure).toMatchObject({ code: 'deployable_in_use' });
    });

    it('takes no handle of a deployable an operator is programming, until that ends or its deadline passes', () => {
      const host = givenHost();
      const deployable = [...host.inventory.deployables.values()][0];
      const started = fold(
        [
          {
            type: 'DeployableProgrammingStarted',
            data: { hostname, uuid: deployable.uuid, name: deployable.name, bitstreamId: bitstream, deadline },
          },
        ],
        evolveHost,
        host,
      );
      expect(decideBindArq(binding, bindable(givenArq(created())), started).failure).toMatchObject({
        code: 'deployable_programming',
      });
      const later = { ...binding, now: '2026-07-21T10:02:00.000Z' };
      expect(decideBindArq(later, bindable(givenArq(created())), started).failure).toBeNull();
    });
  });

  it('fails binds to a host that is down at once, until it is heard again', () => {
    const host = givenHost();
    const down = fold(decideHostDown(hostname, now, host), evolveHost, host);
    expect(decideHostDown(hostname, now, down)).toEqual([]);
    expect(decideBindArq(binding, bindable(givenArq(created())), down).failure).toMatchObject({ code: 'host_down' });
    const up = fold(decideHostUp(hostname, down), evolveHost, down);
    expect(decideBindArq(binding, bindable(givenArq(created())), up).failure).toBeNull();
  });

  it("refuses an ARQ that is not Initial or Unbound, and another project's ARQ as not found", () => {
    const { arq } = givenBindStarted(givenHost());
    expect(failureOf(checkBindable(arqUuid, arq, nova)).message).toBe(
      `Bad state: BindStarted for ARQ: ${arqUuid}. Expected state(s): ['Initial', 'Unbound']`,
    );
    expect(failureOf(checkBindable(arqUuid, givenArq(created()), stranger))).toMatchObject({
      kind: 'not_found',
      message: `ExtArq not found with uuid=${arqUuid}`,
    });
    expect(checkBindable(arqUuid, givenArq(created()), { ...stranger, admin: true })).not.toBeInstanceOf(DomainError);
  });
});

describe('the agent confirming a bind', () => {
  const confirms = DeciderSpecification({ decide: decideConfirmBind, evolve: evolveArq, initial: initialArqState });

  it('ends it Bound with the handle, which Nova then reads', () => {
    const { arq, arqEvents } = givenBindStarted(givenHost());
    confirms
      .given(arqEvents)
      .when({ attempt: 1, outcome: { ok: true } })
      .then([
        {
          type: 'ArqBound',
          data: {
            uuid: arqUuid,
            attempt: 1,
            instanceUuid: instance,
            attachHandleUuid: arq.arq!.holding!.handle.uuid,
            attachHandleType: 'TEST_PCI',
            attachHandleInfo: handleInfo(1),
          },
        },
      ]);
    const bound = fold(decideConfirmBind({ attempt: 1, outcome: { ok: true } }, arq), evolveArq, arq);
    expect(bound.arq).toMatchObject({ state: 'Bound', deadline: null });
    expect(novaStatusOf(bound.arq!.state)).toBe('completed');
  });

  it('ends it BindFailed with the reason, the handle still held until unbind or delete', () => {
    const { arq, arqEvents } = givenBindStarted(givenHost());
    const outcome = { ok: false as const, reason: 'no answer by the deadline' };
    confirms
      .given(arqEvents)
      .when({ attempt: 1, outcome })
      .then([
        {
          type: 'ArqBindFailed',
          data: {
            uuid: arqUuid,
            attempt: 1,
            hostname,
            deviceRpUuid: rp,
            instanceUuid: instance,
            projectId: project,
            reason: 'no answer by the deadline',
            holdsAttachHandle: true,
          },
        },
      ]);
    const failed = fold(decideConfirmBind({ attempt: 1, outcome }, arq), evolveArq, arq);
    expect(failed.arq?.holding).not.toBeNull();
    expect(novaStatusOf(failed.arq!.state)).toBe('failed');
  });

  it('changes nothing for an ARQ that moved on: unbound, deleted, or on a later attempt', () => {
    const { arq, host, arqEvents } = givenBindStarted(givenHost());
    const unbound = decideUnbindArq(arqUuid, nova, arq, host);
    if (unbound instanceof DomainError) throw new Error(unbound.message);
    const deleted = { type: 'ArqDeleted' as const, data: { uuid: arqUuid, releasedAttachHandleUuid: null } };
    confirms
      .given([...arqEvents, ...unbound.arqEvents])
      .when({ attempt: 1, outcome: { ok: true } })
      .then([]);
    confirms
      .given(arqEvents)
      .when({ attempt: 2, outcome: { ok: true } })
      .then([]);
    confirms
      .given([...arqEvents, deleted])
      .when({ attempt: 1, outcome: { ok: true } })
      .then([]);
  });
});

describe('unbinding and deleting', () => {
  it('always give the handle back: from Bound, BindStarted and BindFailed', () => {
    const start = givenBindStarted(givenHost());
    const bound = fold(decideConfirmBind({ attempt: 1, outcome: { ok: true } }, start.arq), evolveArq, start.arq);
    const failed = fold(
      decideConfirmBind({ attempt: 1, outcome: { ok: false, reason: 'x' } }, start.arq),
      evolveArq,
      start.arq,
    );
    const handle = start.arq.arq!.holding!.handle;
    for (const state of [start.arq, bound, failed]) {
      const decision = decideUnbindArq(arqUuid, nova, state, start.host);
      if (decision instanceof DomainError) throw new Error(decision.message);
      expect(decision.hostEvents).toEqual([
        {
          type: 'AttachHandleReleased',
          data: { hostname, uuid: handle.uuid, deployableUuid: handle.deployableUuid, arqUuid },
        },
      ]);
      // Unbinding a bind in progress records it, so Nova hears that bind failed.
      const interrupted = state === start.arq ? { interruptedBind: { attempt: 1, instanceUuid: instance } } : {};
      expect(decision.arqEvents).toEqual([
        { type: 'ArqUnbound', data: { uuid: arqUuid, releasedAttachHandleUuid: handle.uuid, ...interrupted } },
      ]);
      const freed = fold(decision.hostEvents, evolveHost, start.host).inventory.attachHandles.get(handle.uuid);
      expect(freed).toMatchObject({ inUse: false, allocatedTo: null });
    }
  });

  it('unbinds an Initial ARQ as Cyborg does, and an Unbound one not again', () => {
    const decision = decideUnbindArq(arqUuid, nova, givenArq(created()), initialHostState);
    if (decision instanceof DomainError) throw new Error(decision.message);
    expect(types(decision.arqEvents)).toEqual(['ArqUnbound']);
    expect(decision.hostEvents).toEqual([]);
    const unbound = fold(decision.arqEvents, evolveArq, givenArq(created()));
    expect(decideUnbindArq(arqUuid, nova, unbound, initialHostState)).toEqual({ arqEvents: [], hostEvents: [] });
  });

  it('removes what drained once the last handle it kept is released', () => {
    const start = givenBindStarted(givenHost(2));
    const gone = reported([], start.host);
    const decision = decideUnbindArq(arqUuid, nova, start.arq, gone);
    if (decision instanceof DomainError) throw new Error(decision.message);
    expect(types(decision.hostEvents)).toEqual([
      'AttachHandleReleased',
      'AttachHandleRemoved',
      'AttributeRemoved',
      'DeployableRemoved',
      'DeviceRemoved',
    ]);
    const after = fold(decision.hostEvents, evolveHost, gone).inventory;
    expect([after.devices.size, after.deployables.size, after.attachHandles.size]).toEqual([0, 0, 0]);
  });

  it('deletes a bound ARQ only with a service token, and releases its handle', () => {
    const start = givenBindStarted(givenHost());
    expect(failureOf(decideDeleteArq({ uuid: arqUuid, caller: user }, start.arq, start.host))).toMatchObject({
      kind: 'forbidden',
      message: `ARQ ${arqUuid} is bound to instance ${instance}. Use the Compute API to manage instance accelerators.`,
    });
    const decision = decideDeleteArq({ uuid: arqUuid, caller: nova }, start.arq, start.host);
    if (decision instanceof DomainError) throw new Error(decision.message);
    expect(types(decision.arqEvents)).toEqual(['ArqDeleted']);
    expect(types(decision.hostEvents)).toEqual(['AttachHandleReleased']);
    expect(fold(decision.arqEvents, evolveArq, start.arq)).toEqual({ arq: null, deleted: true });
  });

  it('deletes an unbound ARQ without a service token; an unknown or foreign one is not found', () => {
    const decision = decideDeleteArq({ uuid: arqUuid, caller: user }, givenArq(created()), initialHostState);
    expect(decision).toEqual({
      arqEvents: [{ type: 'ArqDeleted', data: { uuid: arqUuid, releasedAttachHandleUuid: null } }],
      hostEvents: [],
    });
    expect(
      failureOf(decideDeleteArq({ uuid: arqUuid, caller: stranger }, givenArq(created()), initialHostState)),
    ).toMatchObject({ kind: 'not_found' });
    expect(
      failureOf(decideDeleteArq({ uuid: arqUuid, caller: nova }, initialArqState, initialHostState)),
    ).toMatchObject({ kind: 'not_found' });
  });

  it('by instance, skips what is missing or no longer bound to it', () => {
    const start = givenBindStarted(givenHost());
    const other = '00000000-0000-4000-8000-000000000001';
    expect(decideDeleteArq({ uuid: arqUuid, caller: nova, instanceUuid: other }, start.arq, start.host)).toEqual({
      arqEvents: [],
      hostEvents: [],
    });
    expect(decideDeleteArq({ uuid: arqUuid, caller: nova, instanceUuid: other }, initialArqState, start.host)).toEqual({
      arqEvents: [],
      hostEvents: [],
    });
    const decision = decideDeleteArq({ uuid: arqUuid, caller: nova, instanceUuid: instance }, start.arq, start.host);
    expect(decision).toMatchObject({ arqEvents: [{ type: 'ArqDeleted' }] });
  });
});
