import {
  type DomainEvent,
  deployableUuid,
  evolveInventory,
  fold,
  initialInventoryState,
  resourceProviderUuid,
} from '@cyborg/domain';
import {
  desiredHostTree,
  drainedInventories,
  isDeployableProvider,
  OWNER_CYBORG,
  providerInventories,
} from './desired-tree';

const host = 'compute-1';
const device = 'dev-1';

function deployable(name: string, numAccelerators: number, parent: string | null = null): DomainEvent {
  return {
    type: 'DeployableAdded',
    data: {
      hostname: host,
      uuid: deployableUuid(host, name),
      deviceUuid: device,
      name,
      parentUuid: parent === null ? null : deployableUuid(host, parent),
      rootUuid: parent === null ? null : deployableUuid(host, parent),
      rpUuid: resourceProviderUuid(name),
      numAccelerators,
      driverName: 'intel',
    },
  };
}

function attribute(deployableName: string, key: string, value: string): DomainEvent {
  return {
    type: 'AttributeAdded',
    data: {
      hostname: host,
      uuid: `${deployableName}-${key}`,
      deployableUuid: deployableUuid(host, deployableName),
      key,
      value,
      source: 'agent',
    },
  };
}

const deviceAdded: DomainEvent = {
  type: 'DeviceAdded',
  data: {
    hostname: host,
    uuid: device,
    controlPath: 'PCI:0000:5e:00.0',
    controlPathId: { type: 'PCI', info: { domain: '0000', bus: '5e', device: '00', function: '0' } },
    type: 'FPGA',
    vendor: '8086',
    model: 'PAC',
    stdBoardInfo: null,
    vendorBoardInfo: null,
    driverName: 'intel',
  },
};

const fpgaCard = [
  deviceAdded,
  deployable('compute-1_0000:5e:00.0', 0),
  attribute('compute-1_0000:5e:00.0', 'rc', 'FPGA'),
  deployable('compute-1_0000:5e:00.1', 1, 'compute-1_0000:5e:00.0'),
  attribute('compute-1_0000:5e:00.1', 'rc', 'FPGA'),
  attribute('compute-1_0000:5e:00.1', 'trait0', 'CUSTOM_FPGA_INTEL'),
  attribute('compute-1_0000:5e:00.1', 'trait1', 'CUSTOM_FPGA_REGION_X'),
];

const stateOf = (events: DomainEvent[]) => fold(events, evolveInventory, initialInventoryState);

describe('the desired provider tree of a host', () => {
  it('has one provider per deployable with accelerators, none for a PF that only groups VFs', () => {
    const { providers, problems } = desiredHostTree(stateOf(fpgaCard));
    expect(problems).toEqual([]);
    expect(providers).toEqual([
      {
        uuid: resourceProviderUuid('compute-1_0000:5e:00.1'),
        name: 'compute-1_0000:5e:00.1',
        resourceClass: 'FPGA',
        total: 1,
        reserved: 0,
        traits: ['CUSTOM_FPGA_INTEL', 'CUSTOM_FPGA_REGION_X', OWNER_CYBORG],
      },
    ]);
  });

  it('gives the inventory every field, max_unit = total', () => {
    const [provider] = desiredHostTree(stateOf(fpgaCard)).providers;
    expect(providerInventories({ ...provider, total: 4 })).toEqual({
      FPGA: { total: 4, reserved: 0, min_unit: 1, max_unit: 4, step_size: 1, allocation_ratio: 1 },
    });
  });

  it('reserves everything of a draining deployable or device', () => {
    const vf = 'compute-1_0000:5e:00.1';
    const draining = stateOf([
      ...fpgaCard,
      { type: 'DeployableDraining', data: { hostname: host, uuid: deployableUuid(host, vf), name: vf } },
    ]);
    expect(desiredHostTree(draining).providers[0]).toMatchObject({ total: 1, reserved: 1 });
    const deviceDraining = stateOf([
      ...fpgaCard,
      { type: 'DeviceDraining', data: { hostname: host, uuid: device, controlPath: 'PCI:0000:5e:00.0' } },
    ]);
    expect(desiredHostTree(deviceDraining).providers[0]).toMatchObject({ reserved: 1 });
    // Reported again: it stops draining.
    expect(
      desiredHostTree(stateOf([...fpgaCard, { ...deviceAdded, type: 'DeviceUpdated' }])).providers[0],
    ).toMatchObject({
      reserved: 0,
    });
  });

  it("reserves everything of a disabled (maintaining) device until it is enabled, as upstream's disable", () => {
    const disabled: DomainEvent[] = [...fpgaCard, { type: 'DeviceDisabled', data: { hostname: host, uuid: device } }];
    expect(desiredHostTree(stateOf(disabled)).providers[0]).toMatchObject({ total: 1, reserved: 1 });
    const enabled: DomainEvent[] = [...disabled, { type: 'DeviceEnabled', data: { hostname: host, uuid: device } }];
    expect(desiredHostTree(stateOf(enabled)).providers[0]).toMatchObject({ reserved: 0 });
  });

  it('reserves everything of a device fenced for its health, shows degraded as schedulable, frees it on recovery', () => {
    const health = (to: 'healthy' | 'degraded' | 'unhealthy', fenced: boolean): DomainEvent => ({
      type: 'DeviceHealthChanged',
      data: { hostname: host, uuid: device, controlPath: 'PCI:0000:5e:00.0', from: 'healthy', to, reasons: [], fenced },
    });
    expect(desiredHostTree(stateOf([...fpgaCard, health('unhealthy', true)])).providers[0]).toMatchObject({
      total: 1,
      reserved: 1,
    });
    expect(desiredHostTree(stateOf([...fpgaCard, health('degraded', false)])).providers[0]).toMatchObject({
      reserved: 0,
    });
    const recovered = [...fpgaCard, health('unhealthy', true), health('healthy', false)];
    expect(desiredHostTree(stateOf(recovered)).providers[0]).toMatchObject({ reserved: 0 });
    const sticky = [...fpgaCard, health('unhealthy', true), health('healthy', true)];
    expect(desiredHostTree(stateOf(sticky)).providers[0]).toMatchObject({ reserved: 1 });
    const released: DomainEvent[] = [
      ...sticky,
      { type: 'DeviceFenceReleased', data: { hostname: host, uuid: device } },
    ];
    expect(desiredHostTree(stateOf(released)).providers[0]).toMatchObject({ reserved: 0 });
  });

  it('names a deployable with accelerators but no resource class as a problem, not a provider', () => {
    const tree = desiredHostTree(stateOf([deviceAdded, deployable('compute-1_odd', 2)]));
    expect(tree.providers).toEqual([]);
    expect(tree.problems).toEqual(['deployable compute-1_odd: no resource class (rc)']);
  });

  it("counts a provider as ours only when its uuid is uuid3(DNS, name), as upstream's", () => {
    expect(
      isDeployableProvider({ name: 'compute-1_FakeDevice', uuid: resourceProviderUuid('compute-1_FakeDevice') }),
    ).toBe(true);
    expect(
      isDeployableProvider({ name: 'compute-1_pci_0000_5e_00_1', uuid: '6c5a4a5e-6a0e-4a4f-9d55-0f1f2d9e0a11' }),
    ).toBe(false);
  });

  it('drains by reserving the whole total of every class', () => {
    const inventories = {
      FPGA: { total: 3, reserved: 0, min_unit: 1, max_unit: 3, step_size: 1, allocation_ratio: 1 },
    };
    expect(drainedInventories(inventories).FPGA).toMatchObject({ total: 3, reserved: 3 });
  });
});
