import { createHash } from 'node:crypto';
import type { DeviceHealthReasonV1, HostEvent, ReportedDevice, ReportedDeviceHealth } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { fold } from '../domain-event';
import { DeciderSpecification } from '../testing/decider-specification';
import { arqCreated, deadline, fakeFpga, hostname, hostWithHandles, now, rp } from '../testing/fixtures';
import { decideBindArq } from '../arq/arq.decide';
import { evolveArq, initialArqState } from '../arq/arq.state';
import { decideAllocateAttachHandle } from './attach-handle-allocation';
import { arqHealthMarks, decideArqHealthMark, decideReleaseFence, type HealthPolicy } from './device-health';
import { evolveHost, type HostState, initialHostState } from './host';
import { deviceUuid } from './inventory-ids';
import { decideReportInventory } from './inventory.decide';

const device = deviceUuid(hostname, 'PCI:0000:0c:00.0');
const arqUuid = '89ec9c4d-73b2-4aaf-9225-485945aa7162';
const instance = '506220bc-18f2-4294-9b29-80267a021dc0';

const xid79: DeviceHealthReasonV1 = {
  code: 'xid',
  message: 'XID 79: GPU has fallen off the bus',
  evidence: { xid: 79 },
};
const aerNonFatal: DeviceHealthReasonV1 = { code: 'aer_nonfatal', message: 'PCIe AER non-fatal errors' };
const unhealthy: ReportedDeviceHealth = { status: 'unhealthy', reasons: [xid79] };
const degraded: ReportedDeviceHealth = { status: 'degraded', reasons: [aerNonFatal] };

let generation = 100;
/** The fake FPGA reported with this health (none: an agent that reports no health). */
function reportWith(health?: ReportedDeviceHealth, handles = 2) {
  const devices: ReportedDevice[] = [{ ...fakeFpga(handles), ...(health ? { health } : {}) }];
  const inventoryHash = createHash('sha256').update(JSON.stringify(devices)).digest('hex');
  return { hostname, generation: ++generation, inventoryHash, devices };
}

interface ReportWhen {
  health?: ReportedDeviceHealth;
  policy?: HealthPolicy;
}

/** The report decider, its events' health changes picked out. */
const reports = DeciderSpecification<ReportWhen, HostState, HostEvent, HostEvent[] | DomainError>({
  decide: (when, state) => {
    const decided = decideReportInventory(reportWith(when.health), state, when.policy);
    return decided instanceof DomainError ? decided : decided.filter((e) => e.type === 'DeviceHealthChanged');
  },
  evolve: evolveHost,
  initial: initialHostState,
});

/** The events of reporting `health` on top of `given`. */
function reported(given: HostEvent[], health?: ReportedDeviceHealth, policy?: HealthPolicy): HostEvent[] {
  const state = fold(given, evolveHost, initialHostState);
  const events = decideReportInventory(reportWith(health), state, policy);
  if (events instanceof DomainError) throw new Error(events.message);
  return [...given, ...events];
}

const allocates = DeciderSpecification({
  decide: (arq: string, state: HostState) =>
    decideAllocateAttachHandle({ hostname, rpUuid: rp, arqUuid: arq, now }, state),
  evolve: evolveHost,
  initial: initialHostState,
});

describe('device health through the report', () => {
  it('records nothing for a device that reports no health: agents without health still work', () => {
    reports.given(hostWithHandles(2)).when({}).then([]);
  });

  it('records an unhealthy device with its reasons and evidence, fenced', () => {
    reports
      .given(hostWithHandles(2))
      .when({ health: unhealthy })
      .then([
        {
          type: 'DeviceHealthChanged',
          data: {
            hostname,
            uuid: device,
            controlPath: 'PCI:0000:0c:00.0',
            from: 'healthy',
            to: 'unhealthy',
            reasons: [xid79],
            fenced: true,
          },
        },
      ]);
  });

  it('records nothing when the same finding is reported again, even with new evidence', () => {
    const again = { status: 'unhealthy' as const, reasons: [{ ...xid79, evidence: { xid: 79, count: 2 } }] };
    reports
      .given(reported(hostWithHandles(2), unhealthy))
      .when({ health: again })
      .then([]);
  });

  it('records a degraded device unfenced: shown, still schedulable', () => {
    reports
      .given(hostWithHandles(2))
      .when({ health: degraded })
      .thenMatches([{ type: 'DeviceHealthChanged', data: { from: 'healthy', to: 'degraded', fenced: false } }]);
  });

  it('lifts the fence when the device recovers', () => {
    reports
      .given(reported(hostWithHandles(2), unhealthy))
      .when({})
      .then([
        {
          type: 'DeviceHealthChanged',
          data: {
            hostname,
            uuid: device,
            controlPath: 'PCI:0000:0c:00.0',
            from: 'unhealthy',
            to: 'healthy',
            reasons: [],
            fenced: false,
          },
        },
      ]);
  });

  it('keeps the fence after recovery when the operator made it sticky', () => {
    const sticky = { stickyFence: true };
    reports
      .given(reported(hostWithHandles(2), unhealthy, sticky))
      .when({ policy: sticky })
      .thenMatches([{ type: 'DeviceHealthChanged', data: { from: 'unhealthy', to: 'healthy', fenced: true } }]);
  });

  it('records a device that is unhealthy from its first report, after it is added', () => {
    const registered = hostWithHandles(2).filter((e) => e.type === 'HostRegistered');
    const events = reported(registered, unhealthy).map((e) => e.type);
    expect(events.slice(-3)).toEqual(['AttachHandleAdded', 'DeviceHealthChanged', 'InventoryReported']);
  });
});

describe('fencing', () => {
  it('refuses a bind to an unhealthy device, naming the reasons', () => {
    allocates
      .given(reported(hostWithHandles(2), unhealthy))
      .when(arqUuid)
      .thenRefuses({
        kind: 'conflict',
        code: 'device_unhealthy',
        message: `Device ${device} of deployable ${hostname}_FakeDevice on host ${hostname} is unhealthy (xid: XID 79: GPU has fallen off the bus); it takes no new binds until it recovers.`,
      });
  });

  it('binds a degraded device', () => {
    allocates
      .given(reported(hostWithHandles(2), degraded))
      .when(arqUuid)
      .thenMatches({ events: [{ type: 'AttachHandleAllocated' }] });
  });

  it('binds again once the device recovers', () => {
    allocates
      .given(reported(reported(hostWithHandles(2), unhealthy), undefined))
      .when(arqUuid)
      .thenMatches({ events: [{ type: 'AttachHandleAllocated' }] });
  });

  it('refuses a bind to a recovered device under a sticky fence, saying how to release it', () => {
    const sticky = { stickyFence: true };
    allocates
      .given(reported(reported(hostWithHandles(2), unhealthy, sticky), undefined, sticky))
      .when(arqUuid)
      .thenRefuses({
        code: 'device_unhealthy',
        message: `Device ${device} of deployable ${hostname}_FakeDevice on host ${hostname} stays fenced after being unhealthy (xid: XID 79: GPU has fallen off the bus); an admin releases it with POST /v2/devices/${device}/health/release.`,
      });
  });
});

describe('releasing a sticky fence', () => {
  const releases = DeciderSpecification({
    decide: (uuid: string, state: HostState) => decideReleaseFence({ hostname, deviceUuid: uuid }, state),
    evolve: evolveHost,
    initial: initialHostState,
  });
  const sticky = { stickyFence: true };

  it('releases a recovered device kept fenced', () => {
    releases
      .given(reported(reported(hostWithHandles(2), unhealthy, sticky), undefined, sticky))
      .when(device)
      .then([{ type: 'DeviceFenceReleased', data: { hostname, uuid: device } }]);
  });

  it('refuses to release a device that is still unhealthy', () => {
    releases
      .given(reported(hostWithHandles(2), unhealthy, sticky))
      .when(device)
      .thenRefuses({ kind: 'conflict', code: 'device_still_unhealthy' });
  });

  it('appends nothing for a device that is not fenced', () => {
    releases.given(hostWithHandles(2)).when(device).then([]);
  });

  it('refuses an unknown device', () => {
    releases
      .given(hostWithHandles(2))
      .when('0c9b1e6a-2f3f-4c4e-9f0e-1b0f4d5c6a7b')
      .thenRefuses({ kind: 'not_found', code: 'device_not_found' });
  });
});

describe('ARQs bound to a device whose health changes', () => {
  const bound = (): { host: HostEvent[]; arq: ReturnType<typeof decideBindArq> } => {
    const host = hostWithHandles(2);
    const arqState = fold([arqCreated(arqUuid)], evolveArq, initialArqState);
    const hostState = fold(host, evolveHost, initialHostState);
    const arq = decideBindArq(
      { hostname, deviceRpUuid: rp, instanceUuid: instance, projectId: null, deadline, now },
      arqState.arq!,
      hostState,
    );
    return { host: [...host, ...arq.hostEvents], arq };
  };

  it('marks each ARQ holding a handle of the device, with the device health and reasons', () => {
    const { host, arq } = bound();
    const state = fold(host, evolveHost, initialHostState);
    const change = decideReportInventory(reportWith(unhealthy), state);
    if (change instanceof DomainError) throw new Error(change.message);
    const marks = arqHealthMarks(change, state);
    expect(marks).toHaveLength(1);
    const arqState = fold([arqCreated(arqUuid), ...arq.arqEvents], evolveArq, initialArqState);
    expect(decideArqHealthMark(marks[0], arqState)).toEqual([
      {
        type: 'ArqDeviceHealthChanged',
        data: {
          uuid: arqUuid,
          hostname,
          deviceUuid: device,
          attachHandleUuid: marks[0].data.attachHandleUuid,
          health: 'unhealthy',
          reasons: [xid79],
        },
      },
    ]);
  });

  it('marks nothing once the ARQ let go of the handle', () => {
    const { host, arq } = bound();
    const state = fold(host, evolveHost, initialHostState);
    const change = decideReportInventory(reportWith(unhealthy), state);
    if (change instanceof DomainError) throw new Error(change.message);
    const unbound = fold(
      [
        arqCreated(arqUuid),
        ...arq.arqEvents,
        { type: 'ArqUnbound', data: { uuid: arqUuid, releasedAttachHandleUuid: null } },
      ],
      evolveArq,
      initialArqState,
    );
    expect(decideArqHealthMark(arqHealthMarks(change, state)[0], unbound)).toEqual([]);
  });

  it('marks a bind that starts on a degraded device at once', () => {
    const host = fold(reported(hostWithHandles(2), degraded), evolveHost, initialHostState);
    const arqState = fold([arqCreated(arqUuid)], evolveArq, initialArqState);
    const decision = decideBindArq(
      { hostname, deviceRpUuid: rp, instanceUuid: instance, projectId: null, deadline, now },
      arqState.arq!,
      host,
    );
    expect(decision.failure).toBeNull();
    expect(decision.arqEvents.map((e) => e.type)).toEqual(['ArqBindStarted', 'ArqDeviceHealthChanged']);
    expect(decision.arqEvents[1]).toMatchObject({ data: { health: 'degraded', reasons: [aerNonFatal] } });
  });

  it('fails a bind to an unhealthy device at once, BindFailed with the reason (Nova is told)', () => {
    const host = fold(reported(hostWithHandles(2), unhealthy), evolveHost, initialHostState);
    const arqState = fold([arqCreated(arqUuid)], evolveArq, initialArqState);
    const decision = decideBindArq(
      { hostname, deviceRpUuid: rp, instanceUuid: instance, projectId: null, deadline, now },
      arqState.arq!,
      host,
    );
    expect(decision.hostEvents).toEqual([]);
    expect(decision.failure?.code).toBe('device_unhealthy');
    expect(decision.arqEvents).toMatchObject([
      { type: 'ArqBindFailed', data: { reason: expect.stringContaining('XID 79: GPU has fallen off the bus') } },
    ]);
  });
});
