import type { DeviceReshapeSpecV1, HostEvent } from '@cyborg/contracts';
import { fold } from '../domain-event';
import { DeciderSpecification } from '../testing/decider-specification';
import { hostname, hostWithHandles, now, rp } from '../testing/fixtures';
import { decideAllocateAttachHandle, heldHandlesOf } from './attach-handle-allocation';
import {
  decideRecordReshape,
  decideRequestReshape,
  deviceShapesOf,
  readyReshapes,
  type RecordReshape,
  type RequestReshape,
} from './device-reshape';
import { evolveHost, initialHostState } from './host';
import { deviceUuid } from './inventory-ids';

const device = deviceUuid(hostname, 'PCI:0000:0c:00.0');
const reshapeId = 'a3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b';
const arq = '89ec9c4d-73b2-4aaf-9225-485945aa7162';

const request = (change: Partial<RequestReshape> = {}): RequestReshape => ({
  hostname,
  deviceUuid: device,
  reshapeId,
  spec: { numVfs: 4 },
  whenBusy: 'refuse',
  ...change,
});

const requests = DeciderSpecification({ decide: decideRequestReshape, evolve: evolveHost, initial: initialHostState });
const records = DeciderSpecification({ decide: decideRecordReshape, evolve: evolveHost, initial: initialHostState });

/** The fake FPGA with one of its handles bound to `arq`. */
function busy(): HostEvent[] {
  const host = hostWithHandles(2);
  const allocation = decideAllocateAttachHandle(
    { hostname, rpUuid: rp, arqUuid: arq, now },
    fold(host, evolveHost, initialHostState),
  );
  if (!('events' in allocation)) throw new Error(allocation.message);
  return [...host, ...allocation.events];
}

const requested = (waitingFor: string[] = [], whenBusy: 'wait' | 'refuse' = 'refuse'): HostEvent => ({
  type: 'DeviceReshapeRequested',
  data: { hostname, uuid: device, reshapeId, spec: { numVfs: 4 }, whenBusy, waitingFor },
});

describe('an admin asks for a device to be reshaped', () => {
  it('records the request of a free device', () => {
    requests.given(hostWithHandles(2)).when(request()).then([requested()]);
  });

  it('refuses while an ARQ is bound, naming it, when the admin said refuse', () => {
    requests
      .given(busy())
      .when(request())
      .thenRefuses({
        kind: 'conflict',
        code: 'device_in_use',
        message: `Device ${device} cannot be reshaped while 1 ARQ(s) are bound to it (${arq}); unbind them, or ask with "when_busy": "wait" to apply it once they let go.`,
      });
  });

  it('records a waiting request naming the ARQs when the admin said wait', () => {
    requests
      .given(busy())
      .when(request({ whenBusy: 'wait' }))
      .then([requested([arq], 'wait')]);
  });

  it('refuses a second request while one is pending', () => {
    requests
      .given([...hostWithHandles(2), requested()])
      .when(request({ reshapeId: 'b3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b' }))
      .thenRefuses({ kind: 'conflict', code: 'reshape_pending' });
  });

  it('refuses a MIG layout or vGPU type for a device that is not a GPU', () => {
    requests
      .given(hostWithHandles(2))
      .when(request({ spec: { migProfiles: ['3g.40gb'] } }))
      .thenRefuses({ kind: 'invalid', code: 'reshape_not_supported' });
    requests
      .given(hostWithHandles(2))
      .when(request({ spec: { vgpuType: 'nvidia-558' } }))
      .thenRefuses({ kind: 'invalid', code: 'reshape_not_supported' });
  });

  it('refuses a request that changes nothing or several things', () => {
    requests
      .given(hostWithHandles(2))
      .when(request({ spec: {} }))
      .thenRefuses({ code: 'invalid_reshape' });
    requests
      .given(hostWithHandles(2))
      .when(request({ spec: { numVfs: 2, vgpuType: 'nvidia-558' } }))
      .thenRefuses({ code: 'invalid_reshape' });
  });

  it('refuses an unknown device', () => {
    requests
      .given(hostWithHandles(2))
      .when(request({ deviceUuid: '0c9b1e6a-2f3f-4c4e-9f0e-1b0f4d5c6a7b' }))
      .thenRefuses({ kind: 'not_found', code: 'device_not_found' });
  });
});

describe('while a reshape is pending', () => {
  it('refuses binds to the device', () => {
    const state = fold([...hostWithHandles(2), requested()], evolveHost, initialHostState);
    const refused = decideAllocateAttachHandle({ hostname, rpUuid: rp, arqUuid: arq, now }, state);
    expect(refused).toMatchObject({ kind: 'conflict', code: 'device_reshaping' });
  });

  it('is ready once the last bound ARQ lets go', () => {
    const waiting: HostEvent[] = [...busy(), requested([arq], 'wait')];
    expect(readyReshapes(fold(waiting, evolveHost, initialHostState))).toEqual([]);
    const handle = [...fold(waiting, evolveHost, initialHostState).inventory.attachHandles.values()].find(
      (h) => h.allocatedTo === arq,
    )!;
    const released: HostEvent = {
      type: 'AttachHandleReleased',
      data: { hostname, uuid: handle.uuid, deployableUuid: handle.deployableUuid, arqUuid: arq },
    };
    expect(readyReshapes(fold([...waiting, released], evolveHost, initialHostState))).toEqual([device]);
  });
});

describe('the agent answers', () => {
  const outcome = (ok: boolean): RecordReshape => ({
    hostname,
    deviceUuid: device,
    reshapeId,
    outcome: ok ? { ok: true } : { ok: false, reasons: ['device fpga0 has no SR-IOV VFs to set (no VF entry)'] },
  });

  it('records it applied, and binds are taken again', () => {
    records
      .given([...hostWithHandles(2), requested()])
      .when(outcome(true))
      .then([{ type: 'DeviceReshapeApplied', data: { hostname, uuid: device, reshapeId, spec: { numVfs: 4 } } }]);
    const applied = fold(
      [
        ...hostWithHandles(2),
        requested(),
        { type: 'DeviceReshapeApplied', data: { hostname, uuid: device, reshapeId, spec: { numVfs: 4 } } },
      ],
      evolveHost,
      initialHostState,
    );
    expect(decideAllocateAttachHandle({ hostname, rpUuid: rp, arqUuid: arq, now }, applied)).toHaveProperty('events');
  });

  it('records it failed with the reasons', () => {
    records
      .given([...hostWithHandles(2), requested()])
      .when(outcome(false))
      .then([
        {
          type: 'DeviceReshapeFailed',
          data: {
            hostname,
            uuid: device,
            reshapeId,
            spec: { numVfs: 4 },
            reasons: ['device fpga0 has no SR-IOV VFs to set (no VF entry)'],
          },
        },
      ]);
  });

  it('records nothing for a request that is no longer pending', () => {
    records.given(hostWithHandles(2)).when(outcome(true)).then([]);
  });
});

describe('what the log keeps for the agent across its restarts', () => {
  const ids = [
    'c3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a51',
    'c3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a52',
    'c3f1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a53',
  ];
  const reshaped = (id: string, spec: DeviceReshapeSpecV1, applied = true): HostEvent[] => [
    {
      type: 'DeviceReshapeRequested',
      data: { hostname, uuid: device, reshapeId: id, spec, whenBusy: 'refuse', waitingFor: [] },
    },
    applied
      ? { type: 'DeviceReshapeApplied', data: { hostname, uuid: device, reshapeId: id, spec } }
      : { type: 'DeviceReshapeFailed', data: { hostname, uuid: device, reshapeId: id, spec, reasons: ['no'] } },
  ];
  const shapes = (events: HostEvent[]) => deviceShapesOf(fold(events, evolveHost, initialHostState));

  it('names no shape before a reshape is applied', () => {
    expect(shapes(hostWithHandles(2))).toEqual([]);
    expect(shapes([...hostWithHandles(2), ...reshaped(ids[0], { vgpuType: '1292' }, false)])).toEqual([]);
  });

  const shapeOf = (kept: object) => ({
    deviceUuid: device,
    driverName: 'fake',
    controlPathId: { type: 'PCI', info: { domain: '0000', bus: '0c', device: '00', function: '0' } },
    ...kept,
  });

  it("gives the device's last applied vGPU type and VF count, each kept through the other", () => {
    const applied = [...hostWithHandles(2), ...reshaped(ids[0], { vgpuType: '1292' })];
    expect(shapes(applied)).toEqual([shapeOf({ vgpuType: '1292' })]);
    const both = [...applied, ...reshaped(ids[1], { numVfs: 2 })];
    expect(shapes(both)).toEqual([shapeOf({ numVfs: 2, vgpuType: '1292' })]);
    expect(shapes([...both, ...reshaped(ids[2], { numVfs: 4 })])).toEqual([shapeOf({ numVfs: 4, vgpuType: '1292' })]);
  });

  it('keeps only the MIG layout once one is applied over a vGPU type and a VF count (it replaces the VFs)', () => {
    const events = [
      ...hostWithHandles(2),
      ...reshaped(ids[0], { vgpuType: '1292' }),
      ...reshaped(ids[1], { numVfs: 2 }),
      ...reshaped(ids[2], { migProfiles: ['3g.40gb'] }),
    ];
    expect(shapes(events)).toEqual([shapeOf({ migProfiles: ['3g.40gb'] })]);
  });

  it('keeps a vGPU type applied after a MIG layout with it', () => {
    const events = [
      ...hostWithHandles(2),
      ...reshaped(ids[0], { migProfiles: ['3g.40gb', '4g.40gb'] }),
      ...reshaped(ids[1], { vgpuType: 'nvidia-700' }),
    ];
    expect(shapes(events)).toEqual([shapeOf({ migProfiles: ['3g.40gb', '4g.40gb'], vgpuType: 'nvidia-700' })]);
  });

  it('names each held attach handle with the ARQ that holds it, and none once released', () => {
    const state = fold(busy(), evolveHost, initialHostState);
    const held = heldHandlesOf(state);
    expect(held).toHaveLength(1);
    expect(held[0].arqUuid).toBe(arq);
    expect(state.inventory.attachHandles.get(held[0].uuid)?.allocatedTo).toBe(arq);
    expect(heldHandlesOf(fold(hostWithHandles(2), evolveHost, initialHostState))).toEqual([]);
  });
});
