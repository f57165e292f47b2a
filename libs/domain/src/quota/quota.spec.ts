import { QuotaUsageCharged, QuotaUsageReleased } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { fold } from '../domain-event';
import {
  decideQuotaCharge,
  decideQuotaRelease,
  evolveQuota,
  initialQuotaState,
  quotaResourceOf,
  quotaUsageOf,
} from './quota';

const fpga = (uuid: string) => ({ uuid, resourceClass: 'FPGA' });
const limits = (entries: Record<string, number>) => new Map(Object.entries(entries));

function charged(uuids: string[]) {
  const events = decideQuotaCharge({ projectId: 'p', arqs: uuids.map(fpga), limits: new Map() }, initialQuotaState);
  if (events instanceof DomainError) throw new Error(events.message);
  return fold(events, evolveQuota, initialQuotaState);
}

describe('quota', () => {
  it('names Keystone resources class:<resource class>', () => {
    expect(quotaResourceOf('FPGA')).toBe('class:FPGA');
    expect(quotaResourceOf('CUSTOM_QAT')).toBe('class:CUSTOM_QAT');
  });

  it('counts ARQs up to the limit and refuses the whole command past it, saying by how much', () => {
    const state = charged(['a', 'b', 'c']);
    expect(state.inUse).toEqual({ 'class:FPGA': 3 });
    const ok = decideQuotaCharge({ projectId: 'p', arqs: [fpga('d')], limits: limits({ 'class:FPGA': 4 }) }, state);
    expect(ok).toEqual([
      {
        type: QuotaUsageCharged.type,
        data: { projectId: 'p', charges: [{ arqUuid: 'd', resourceName: 'class:FPGA' }] },
      },
    ]);
    const refused = decideQuotaCharge(
      { projectId: 'p', arqs: [fpga('d'), fpga('e')], limits: limits({ 'class:FPGA': 4 }) },
      state,
    );
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({
      kind: 'forbidden',
      code: 'quota_exceeded',
      message: 'Quota exceeded for class:FPGA: requested 2, in use 3, limit 4',
    });
  });

  it('treats no limit and -1 as unlimited, and counts other classes apart', () => {
    const state = charged(['a', 'b']);
    const arqs = [fpga('c'), { uuid: 'q', resourceClass: 'CUSTOM_QAT' }, { uuid: 'n', resourceClass: null }];
    const events = decideQuotaCharge({ projectId: 'p', arqs, limits: limits({ 'class:FPGA': -1 }) }, state);
    if (events instanceof DomainError) throw new Error(events.message);
    expect(fold(events, evolveQuota, state).inUse).toEqual({ 'class:FPGA': 3, 'class:CUSTOM_QAT': 1 });
    const zero = decideQuotaCharge(
      {
        projectId: 'p',
        arqs: [{ uuid: 'q2', resourceClass: 'CUSTOM_QAT' }],
        limits: limits({ 'class:CUSTOM_QAT': 0 }),
      },
      state,
    );
    expect(zero).toMatchObject({ message: 'Quota exceeded for class:CUSTOM_QAT: requested 1, in use 0, limit 0' });
  });

  it('releases only ARQs it counted, once', () => {
    const state = charged(['a', 'b']);
    const events = decideQuotaRelease('p', ['a', 'a', 'x'], state);
    expect(events).toEqual([{ type: QuotaUsageReleased.type, data: { projectId: 'p', arqUuids: ['a'] } }]);
    const after = fold(events, evolveQuota, state);
    expect(after.inUse).toEqual({ 'class:FPGA': 1 });
    expect(decideQuotaRelease('p', ['a'], after)).toEqual([]);
    // A charge replayed for an ARQ already counted counts nothing more.
    expect(decideQuotaCharge({ projectId: 'p', arqs: [fpga('b')], limits: new Map() }, after)).toEqual([]);
  });

  it('reports usage beside the limit for every resource in use or limited', () => {
    expect(quotaUsageOf(charged(['a']), limits({ 'class:PGPU': 2, 'class:FPGA': -1 }))).toEqual([
      { resource: 'class:FPGA', inUse: 1, limit: null },
      { resource: 'class:PGPU', inUse: 0, limit: 2 },
    ]);
  });
});
