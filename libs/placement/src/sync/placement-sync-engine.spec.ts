import { PlacementClient } from '../client/placement-client';
import { PlacementSyncEngine } from './placement-sync-engine';

// Not started: folding only, so no Placement is needed.
const engine = () => new PlacementSyncEngine(new PlacementClient({ url: 'http://127.0.0.1:9' }), { retryMaxMs: 1000 });

const registered = (version: number, sequence: number) => ({
  hostname: 'compute-1',
  version,
  type: 'HostRegistered',
  data: { hostname: 'compute-1', drivers: ['fake'], agentVersion: '0.1.0' },
  sequence,
});

describe('folding host events', () => {
  it('folds each stream version once: a redelivery changes nothing', () => {
    const sync = engine();
    expect(sync.apply(registered(1, 10))).toBe(true);
    expect(sync.apply(registered(1, 10))).toBe(false);
    expect(sync.apply(registered(2, 11))).toBe(true);
    expect(sync.apply(registered(1, 10))).toBe(false);
    expect(sync.statuses()).toEqual([
      expect.objectContaining({ hostname: 'compute-1', state: 'pending', streamVersion: 2 }),
    ]);
  });

  it('keeps hosts apart', () => {
    const sync = engine();
    sync.apply(registered(1, 1));
    sync.apply({ ...registered(1, 2), hostname: 'compute-2' });
    expect(sync.statuses().map((s) => [s.hostname, s.streamVersion])).toEqual([
      ['compute-1', 1],
      ['compute-2', 1],
    ]);
  });

  it('skips an event that cannot be folded instead of failing on it forever', () => {
    const sync = engine();
    expect(
      sync.apply({ ...registered(1, 1), type: 'DeployableDraining', data: null as unknown as Record<string, unknown> }),
    ).toBe(true);
    expect(sync.apply(registered(2, 2))).toBe(true);
  });
});
