import { createHash } from 'node:crypto';
import type { ReportedDeployable, ReportedDevice } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { type DomainEvent, fold } from '../domain-event';
import { decideRegisterHost, evolveHost, type HostState, initialHostState } from './host';
import { attachHandleUuid, deployableUuid, deviceUuid, resourceProviderUuid } from './inventory-ids';
import { decideDrainedRemovals, decideReportInventory, type InventoryReport } from './inventory.decide';

const hostname = 'compute-1';

const fakeFpga: ReportedDevice = {
  type: 'FPGA',
  vendor: '0xABCD',
  model: 'miss model info',
  std_board_info: '{"device_id": "0xabcd", "class": "Fake class"}',
  vendor_board_info: 'fake_vendor_info',
  controlPathId: { type: 'PCI', info: { domain: '0000', bus: '0c', device: '00', function: '0' } },
  driverName: 'fake',
  deployables: [
    {
      name: 'compute-1_FakeDevice',
      numAccelerators: 2,
      driverName: 'fake',
      attributes: [
        { key: 'traits1', value: 'CUSTOM_FAKE_DEVICE' },
        { key: 'rc', value: 'FPGA' },
      ],
      attachHandles: [
        { type: 'TEST_PCI', info: '{"domain": "0000", "bus": "0c", "device": "0", "function": "1"}' },
        { type: 'TEST_PCI', info: '{"domain": "0000", "bus": "0c", "device": "0", "function": "2"}' },
      ],
    },
  ],
};

const vf = (n: number): ReportedDeployable => ({
  name: `compute-1_0000:86:02.${n}`,
  numAccelerators: 1,
  driverName: 'intel',
  parentName: 'compute-1_0000:86:00.0',
  attributes: [
    { key: 'rc', value: 'CUSTOM_NIC' },
    { key: 'trait0', value: 'CUSTOM_VF' },
  ],
  attachHandles: [
    {
      type: 'PCI',
      info: `{"bus": "86", "device": "02", "domain": "0000", "function": "${n}", "physical_network": "physnet1"}`,
    },
  ],
});

/** An SR-IOV NIC: the PF deployable groups one deployable per VF. */
const nic = (vfs: number): ReportedDevice => ({
  type: 'NIC',
  vendor: '8086',
  model: 'Ethernet Controller XXV710',
  std_board_info: null,
  vendor_board_info: null,
  controlPathId: { type: 'PCI', info: { domain: '0000', bus: '86', device: '00', function: '0' } },
  driverName: 'simulated',
  deployables: [
    {
      name: 'compute-1_0000:86:00.0',
      numAccelerators: 0,
      driverName: 'intel',
      attributes: [
        { key: 'rc', value: 'CUSTOM_NIC' },
        { key: 'trait0', value: 'CUSTOM_PF' },
      ],
      attachHandles: [],
    },
    ...Array.from({ length: vfs }, (_, i) => vf(i)),
  ],
});

let generation = 0;
/** A snapshot as an agent sends it; the hash stands for the content (the agent computes the real one). */
function report(devices: ReportedDevice[]): InventoryReport {
  const inventoryHash = createHash('sha256').update(JSON.stringify(devices)).digest('hex');
  return { hostname, generation: ++generation, inventoryHash, devices };
}

const registered = fold(
  decideRegisterHost({ hostname, drivers: ['fake', 'simulated'], agentVersion: '0.1.0' }, initialHostState),
  evolveHost,
  initialHostState,
);

function decided(command: InventoryReport, state: HostState): DomainEvent[] {
  const events = decideReportInventory(command, state);
  if (events instanceof DomainError) throw new Error(`refused: ${events.message}`);
  return events;
}

/** Given a host that reported `devices`. */
function reported(devices: ReportedDevice[], state: HostState = registered): HostState {
  return fold(decided(report(devices), state), evolveHost, state);
}

const types = (events: DomainEvent[]) => events.map((e) => e.type);

/** Given a handle a bind allocated to `arq`. */
function withHandleInUse(state: HostState, uuid: string, arq: string): HostState {
  const handle = state.inventory.attachHandles.get(uuid);
  if (!handle) throw new Error(`no handle ${uuid}`);
  const allocated = { hostname, uuid, deployableUuid: handle.deployableUuid, arqUuid: arq };
  return evolveHost(state, { type: 'AttachHandleAllocated', data: allocated });
}

describe('an agent reporting its inventory', () => {
  it("records a new host's devices, the device → PF → VF tree, handles and attributes, parents first", () => {
    const events = decided(report([nic(2), fakeFpga]), registered);

    expect(types(events)).toEqual([
      'DeviceAdded', // 0000:0c:00.0 sorts first
      'DeployableAdded',
      'AttributeAdded',
      'AttributeAdded',
      'AttachHandleAdded',
      'AttachHandleAdded',
      'DeviceAdded',
      'DeployableAdded', // the PF
      'AttributeAdded',
      'AttributeAdded',
      'DeployableAdded', // VF 0
      'AttributeAdded',
      'AttributeAdded',
      'AttachHandleAdded',
      'DeployableAdded', // VF 1
      'AttributeAdded',
      'AttributeAdded',
      'AttachHandleAdded',
      'InventoryReported',
    ]);
    const pf = deployableUuid(hostname, 'compute-1_0000:86:00.0');
    expect(events[7].data).toMatchObject({ uuid: pf, parentUuid: null, rootUuid: null });
    expect(events[10].data).toEqual({
      hostname,
      uuid: deployableUuid(hostname, 'compute-1_0000:86:02.0'),
      deviceUuid: deviceUuid(hostname, 'PCI:0000:86:00.0'),
      name: 'compute-1_0000:86:02.0',
      parentUuid: pf,
      rootUuid: pf,
      rpUuid: resourceProviderUuid('compute-1_0000:86:02.0'),
      numAccelerators: 1,
      driverName: 'intel',
    });
    expect(events[2].data).toMatchObject({ key: 'traits1', value: 'CUSTOM_FAKE_DEVICE', source: 'agent' });
    expect(events[18].data).toEqual({ hostname, generation, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('gives each deployable the resource provider uuid upstream gives it, uuid3(DNS, name)', () => {
    // Python: uuid.uuid3(uuid.NAMESPACE_DNS, 'compute-1_FakeDevice')
    expect(resourceProviderUuid('compute-1_FakeDevice')).toBe('ab26a7c4-8d78-3524-940d-5e1a4f99d24a');
  });

  it('derives every id from identity keys, so deciding is repeatable and hosts never share ids', () => {
    const command = report([nic(1), fakeFpga]);
    expect(decided(command, registered)).toEqual(decided(command, registered));
    // The fake device has the same control path on every host.
    expect(deviceUuid('compute-1', 'PCI:0000:0c:00.0')).not.toBe(deviceUuid('compute-2', 'PCI:0000:0c:00.0'));
  });

  it('appends nothing at all for a report with the recorded hash', () => {
    const state = reported([nic(2), fakeFpga]);
    const again = report([nic(2), fakeFpga]);
    expect(decideReportInventory(again, state)).toEqual([]);
  });

  it('records only the new hash when a snapshot merely lists things in another order', () => {
    const state = reported([nic(2), fakeFpga]);
    const reordered = nic(2);
    reordered.deployables = [...reordered.deployables].reverse();
    expect(types(decided(report([reordered, fakeFpga]), state))).toEqual(['InventoryReported']);
  });

  it('removes a vanished device with everything under it, children before parents', () => {
    const state = reported([nic(1), fakeFpga]);
    const events = decided(report([fakeFpga]), state);
    expect(types(events)).toEqual([
      'AttachHandleRemoved',
      'AttributeRemoved',
      'AttributeRemoved',
      'DeployableRemoved', // the VF
      'AttributeRemoved',
      'AttributeRemoved',
      'DeployableRemoved', // the PF
      'DeviceRemoved',
      'InventoryReported',
    ]);
    expect(events[7].data).toEqual({
      hostname,
      uuid: deviceUuid(hostname, 'PCI:0000:86:00.0'),
      controlPath: 'PCI:0000:86:00.0',
    });
    const after = fold(events, evolveHost, state);
    expect([...after.inventory.devices.values()].map((d) => d.controlPath)).toEqual(['PCI:0000:0c:00.0']);
    expect(after.inventory.deployables.size).toBe(1);
    expect(after.inventory.attachHandles.size).toBe(2);
    expect(after.inventory.attributes.size).toBe(2);
  });

  it('follows a VF count change with the VF deployables and their handles only', () => {
    const state = reported([nic(4)]);
    const fewer = decided(report([nic(2)]), state);
    expect(types(fewer)).toEqual([
      'AttachHandleRemoved',
      'AttributeRemoved',
      'AttributeRemoved',
      'DeployableRemoved',
      'AttachHandleRemoved',
      'AttributeRemoved',
      'AttributeRemoved',
      'DeployableRemoved',
      'InventoryReported',
    ]);
    expect(fewer.filter((e) => e.type === 'DeployableRemoved').map((e) => e.data.name)).toEqual([
      'compute-1_0000:86:02.2',
      'compute-1_0000:86:02.3',
    ]);

    const more = decided(report([nic(3)]), fold(fewer, evolveHost, state));
    expect(types(more)).toEqual([
      'DeployableAdded',
      'AttributeAdded',
      'AttributeAdded',
      'AttachHandleAdded',
      'InventoryReported',
    ]);
    expect(more[0].data).toMatchObject({
      name: 'compute-1_0000:86:02.2',
      uuid: deployableUuid(hostname, 'compute-1_0000:86:02.2'),
    });
  });

  it('updates a device, a deployable and an attribute whose reported values changed', () => {
    const state = reported([fakeFpga]);
    const changed: ReportedDevice = {
      ...fakeFpga,
      model: 'new model',
      deployables: [
        {
          ...fakeFpga.deployables[0],
          numAccelerators: 3,
          attributes: [
            { key: 'traits1', value: 'CUSTOM_FAKE_DEVICE_2' },
            { key: 'rc', value: 'FPGA' },
          ],
        },
      ],
    };
    const events = decided(report([changed]), state);
    expect(types(events)).toEqual(['DeviceUpdated', 'DeployableUpdated', 'AttributeUpdated', 'InventoryReported']);
    expect(events[0].data).toMatchObject({ model: 'new model', vendor: '0xABCD' });
    expect(events[1].data).toMatchObject({ numAccelerators: 3 });
    expect(events[2].data).toEqual({
      hostname,
      uuid: expect.any(String),
      deployableUuid: deployableUuid(hostname, 'compute-1_FakeDevice'),
      key: 'traits1',
      value: 'CUSTOM_FAKE_DEVICE_2',
    });
  });

  it('keeps attributes an operator created through the API across reports, until their deployable goes', () => {
    const state = reported([nic(1), fakeFpga]);
    const vf0 = deployableUuid(hostname, 'compute-1_0000:86:02.0');
    const operatorMade: DomainEvent = {
      type: 'AttributeAdded',
      data: {
        hostname,
        uuid: '5c3f0d2e-7d0c-4f43-9d84-1b0f3f0b5e61',
        deployableUuid: vf0,
        key: 'trait9',
        value: 'CUSTOM_MINE',
        source: 'api',
      },
    };
    const withOperator = fold([operatorMade], evolveHost, state);

    const dropped = nic(1);
    dropped.deployables[1].attributes = [{ key: 'rc', value: 'CUSTOM_NIC' }];
    const events = decided(report([dropped, fakeFpga]), withOperator);
    expect(types(events)).toEqual(['AttributeRemoved', 'InventoryReported']);
    expect(events[0].data).toMatchObject({ key: 'trait0' });

    const gone = decided(report([fakeFpga]), fold(events, evolveHost, withOperator));
    expect(gone.filter((e) => e.type === 'AttributeRemoved').map((e) => e.data.key)).toContain('trait9');
  });

  it('refuses a report older than the recorded one', () => {
    const state = reported([fakeFpga]);
    const old = { ...report([nic(1)]), generation: 1 };
    const refusal = decideReportInventory(old, state);
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ kind: 'conflict', code: 'stale_inventory_report' });
  });

  it('refuses a report for a host that never registered', () => {
    expect(decideReportInventory(report([fakeFpga]), initialHostState)).toMatchObject({
      kind: 'conflict',
      code: 'host_not_registered',
    });
  });

  it.each([
    ['a control path twice', [fakeFpga, { ...fakeFpga, deployables: [] }], /device PCI:0000:0c:00.0 is reported twice/],
    [
      'a deployable name twice',
      [fakeFpga, { ...nic(0), deployables: fakeFpga.deployables }],
      /deployable name .* twice/,
    ],
    ['a parent on no device', [{ ...nic(1), deployables: [vf(0)] }], /parent .* is not on the same device/],
    [
      'parents in a cycle',
      [
        {
          ...nic(0),
          deployables: [
            { ...vf(0), parentName: vf(1).name },
            { ...vf(1), parentName: vf(0).name },
          ],
        },
      ],
      /cycle/,
    ],
    [
      'one attach handle on two deployables',
      [
        {
          ...nic(0),
          deployables: [
            { ...vf(0), parentName: undefined },
            { ...vf(0), name: 'other', parentName: undefined },
          ],
        },
      ],
      /attach handle PCI .* twice/,
    ],
  ])('refuses a snapshot with %s, naming the problem', (_what, devices, message) => {
    const refusal = decideReportInventory(report(devices as ReportedDevice[]), registered);
    expect(refusal).toMatchObject({
      kind: 'invalid',
      code: 'invalid_inventory',
      message: expect.stringMatching(message),
    });
  });
});

describe('a vanished device whose attach handle is in use', () => {
  const vf1Handle = attachHandleUuid(
    hostname,
    'compute-1_0000:86:02.1',
    'PCI',
    '{"bus": "86", "device": "02", "domain": "0000", "function": "1", "physical_network": "physnet1"}',
  );
  const inUse = () => withHandleInUse(reported([nic(2)]), vf1Handle, 'arq-1');
  const drainedState = () => {
    const state = inUse();
    return fold(decided(report([fakeFpga]), state), evolveHost, state);
  };

  it('drains instead of going, and never blocks the rest of the report', () => {
    const state = inUse();
    const events = decided(report([fakeFpga]), state);
    expect(types(events)).toEqual([
      'AttachHandleRemoved', // VF 0 is free: it goes
      'AttributeRemoved',
      'AttributeRemoved',
      'DeployableRemoved',
      'AttachHandleDraining', // VF 1 holds the handle in use: it and its PF stay, draining
      'DeployableDraining',
      'DeployableDraining',
      'DeviceDraining',
      'DeviceAdded', // the rest of the report still happens
      'DeployableAdded',
      'AttributeAdded',
      'AttributeAdded',
      'AttachHandleAdded',
      'AttachHandleAdded',
      'InventoryReported',
    ]);
    const after = fold(events, evolveHost, state);
    const device = after.inventory.devices.get(deviceUuid(hostname, 'PCI:0000:86:00.0'));
    expect(device).toMatchObject({ draining: true });
    expect(after.inventory.attachHandles.get(vf1Handle)).toMatchObject({
      inUse: true,
      allocatedTo: 'arq-1',
      draining: true,
    });
    // A draining deployable keeps its attributes: its resource provider still exists.
    expect(
      [...after.inventory.attributes.values()].filter((a) => a.deployableUuid === deployableUuid(hostname, vf(1).name)),
    ).toHaveLength(2);
  });

  it('says so once: a later report does not drain it again', () => {
    const drained = drainedState();
    const fpga2 = { ...fakeFpga, model: 'changed' };
    expect(types(decided(report([fpga2]), drained))).toEqual(['DeviceUpdated', 'InventoryReported']);
  });

  it('comes back as it was when the host reports it again, still in use', () => {
    const drained = drainedState();
    const events = decided(report([nic(2), fakeFpga]), drained);
    expect(types(events)).toEqual([
      'DeviceUpdated',
      'DeployableUpdated', // the PF
      'DeployableAdded', // VF 0 had gone
      'AttributeAdded',
      'AttributeAdded',
      'AttachHandleAdded',
      'DeployableUpdated', // VF 1 had drained
      'AttachHandleUpdated',
      'InventoryReported',
    ]);
    const after = fold(events, evolveHost, drained);
    expect(after.inventory.devices.get(deviceUuid(hostname, 'PCI:0000:86:00.0'))).toMatchObject({ draining: false });
    expect(after.inventory.attachHandles.get(vf1Handle)).toMatchObject({
      inUse: true,
      allocatedTo: 'arq-1',
      draining: false,
    });
  });

  it('goes once binding releases the handle', () => {
    const drained = drainedState();
    expect(decideDrainedRemovals(hostname, drained)).toEqual([]);

    const handle = drained.inventory.attachHandles.get(vf1Handle);
    const released: HostState = {
      ...drained,
      inventory: {
        ...drained.inventory,
        attachHandles: new Map(drained.inventory.attachHandles).set(vf1Handle, {
          ...handle!,
          inUse: false,
          allocatedTo: null,
        }),
      },
    };
    const events = decideDrainedRemovals(hostname, released);
    expect(types(events)).toEqual([
      'AttachHandleRemoved',
      'AttributeRemoved',
      'AttributeRemoved',
      'DeployableRemoved',
      'AttributeRemoved',
      'AttributeRemoved',
      'DeployableRemoved',
      'DeviceRemoved',
    ]);
    const after = fold(events, evolveHost, released);
    expect([...after.inventory.devices.values()].map((d) => d.controlPath)).toEqual(['PCI:0000:0c:00.0']);
    expect(after.inventory.deployables.size).toBe(1);
  });
});
