import { createHash } from 'node:crypto';
import type { ArqCreated, HostEvent, ReportedDevice } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { fold } from '../domain-event';
import { decideRegisterHost, evolveHost, initialHostState } from '../host/host';
import { decideReportInventory } from '../host/inventory.decide';
import { resourceProviderUuid } from '../host/inventory-ids';

/** Events and ids the ARQ and host specs share: one host with the fake driver's FPGA. */
export const hostname = 'compute-1';
export const deployableName = `${hostname}_FakeDevice`;
export const rp = resourceProviderUuid(deployableName);
export const project = '8934fbea7b3f4685bd8ee7cf166a4c09';
export const profileUuid = '5518a925-1c2c-49a2-a8bf-0927d9456f3e';
export const now = '2026-07-21T10:00:00.000Z';
export const deadline = '2026-07-21T10:01:00.000Z';
export const profileGroup = { 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' };

export const handleInfo = (fn: number) => `{"domain": "0000", "bus": "0c", "device": "0", "function": "${fn}"}`;

/** The fake driver's FPGA with `handles` TEST_PCI handles. */
export function fakeFpga(handles: number): ReportedDevice {
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

/** The host stream of a registered host whose fake FPGA has `handles` attach handles. */
export function hostWithHandles(handles: number): HostEvent[] {
  const registered = decideRegisterHost({ hostname, drivers: ['fake'], agentVersion: '0.1.0' }, initialHostState);
  const devices = [fakeFpga(handles)];
  const inventoryHash = createHash('sha256').update(JSON.stringify(devices)).digest('hex');
  const state = fold(registered, evolveHost, initialHostState);
  const reported = decideReportInventory({ hostname, generation: 1, inventoryHash, devices }, state);
  if (reported instanceof DomainError) throw new Error(reported.message);
  return [...registered, ...reported];
}

/** An ARQ of the fake FPGA profile's one group, in `project`. */
export function arqCreated(uuid: string): ArqCreated {
  return {
    type: 'ArqCreated',
    data: {
      uuid,
      deviceProfileUuid: profileUuid,
      deviceProfileName: 'fpga-dp1',
      deviceProfileGroupId: 0,
      deviceProfileGroup: profileGroup,
      projectId: project,
      createdAt: now,
      resourceClass: 'FPGA',
    },
  };
}
