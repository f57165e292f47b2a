import type { HostEvent } from '@cyborg/contracts';
import { fold } from '../domain-event';
import { DeciderSpecification } from '../testing/decider-specification';
import { deployableName, hostname, hostWithHandles, now, rp } from '../testing/fixtures';
import {
  decideAllocateAttachHandle,
  decideReleaseAttachHandle,
  heldHandlesOf,
  releasedHandlesOf,
} from './attach-handle-allocation';
import { evolveHost, initialHostState } from './host';

const arq = '6f0c1f5e-2b1d-4c8e-9a47-3d5b2e1f0a11';
const other = '6f0c1f5e-2b1d-4c8e-9a47-3d5b2e1f0a22';
const allocations = DeciderSpecification({
  decide: decideAllocateAttachHandle,
  evolve: evolveHost,
  initial: initialHostState,
});

const host = hostWithHandles(1);
const handle = [...fold(host, evolveHost, initialHostState).inventory.attachHandles.values()][0];
const ids = { hostname, uuid: handle.uuid, deployableUuid: handle.deployableUuid };
const allocated = (arqUuid: string, attempt?: number): HostEvent => ({
  type: 'AttachHandleAllocated',
  data: { ...ids, arqUuid, ...(attempt !== undefined ? { attempt } : {}) },
});
const released = (arqUuid: string): HostEvent => ({ type: 'AttachHandleReleased', data: { ...ids, arqUuid } });
const stateOf = (events: HostEvent[]) => fold(events, evolveHost, initialHostState);

describe('an attach handle taken by a bind attempt', () => {
  it('records the bind attempt of the ARQ that takes it', () => {
    allocations
      .given(host)
      .when({ hostname, rpUuid: rp, arqUuid: arq, attempt: 1, now })
      .thenMatches({ events: [allocated(arq, 1)] });
  });

  it('records the later attempt when the same ARQ binds the handle again', () => {
    allocations
      .given([...host, allocated(arq, 1), released(arq)])
      .when({ hostname, rpUuid: rp, arqUuid: arq, attempt: 2, now })
      .thenMatches({ events: [allocated(arq, 2)] });
  });

  it('gives the agent the holder with its attempt, so a late release of the first bind leaves the second', () => {
    expect(heldHandlesOf(stateOf([...host, allocated(arq, 1), released(arq), allocated(arq, 2)]))).toEqual([
      { uuid: handle.uuid, arqUuid: arq, attempt: 2 },
    ]);
  });

  it('names no attempt for an allocation logged before attempts were (the ARQ alone is matched)', () => {
    expect(heldHandlesOf(stateOf([...host, allocated(arq)]))).toEqual([{ uuid: handle.uuid, arqUuid: arq }]);
  });

  it('forgets the attempt when the handle is released', () => {
    const events = [...host, allocated(arq, 3)];
    const release = decideReleaseAttachHandle({ hostname, handleUuid: handle.uuid, arqUuid: arq }, stateOf(events));
    expect(release).toEqual([released(arq)]);
    expect(stateOf([...events, ...release]).inventory.attachHandles.get(handle.uuid)).toMatchObject({
      inUse: false,
      allocatedTo: null,
      attempt: null,
    });
  });
});

describe('the attach handles an agent clears at its start', () => {
  const cleared = { uuid: handle.uuid, type: handle.type, info: handle.info, deployableName, driverName: 'fake' };

  it('names none that was never bound: what is on it is not the agent’s', () => {
    expect(releasedHandlesOf(stateOf(host))).toEqual([]);
  });

  it('names none that is held now', () => {
    expect(releasedHandlesOf(stateOf([...host, allocated(arq, 1)]))).toEqual([]);
    expect(releasedHandlesOf(stateOf([...host, allocated(arq, 1), released(arq), allocated(other, 1)]))).toEqual([]);
  });

  it('names one bound before and free now, with the driver that prepared it', () => {
    expect(releasedHandlesOf(stateOf([...host, allocated(arq, 1), released(arq)]))).toEqual([cleared]);
  });

  it('still names it after the next report of the device', () => {
    const reported = hostWithHandles(1).filter((e) => e.type === 'AttachHandleAdded');
    const updated = reported.map((e) => ({ ...e, type: 'AttachHandleUpdated' }) as HostEvent);
    expect(releasedHandlesOf(stateOf([...host, allocated(arq, 1), released(arq), ...updated]))).toEqual([cleared]);
  });
});
