import { localBindMetrics, remoteBindMetrics, sampleBindMetrics } from './bind-metrics';
import { CyborgMetrics } from './metrics';
import { type RunningOpsServer, serveOps } from './ops-server';

/**
 * The bind report the console samples: this process's registry and a
 * conductor's metrics port (a real HTTP server on a free port), summed
 * series by series.
 */
const api = new CyborgMetrics();
const conductor = new CyborgMetrics();
let ops: RunningOpsServer;

beforeAll(async () => {
  ops = await serveOps({ service: 'conductor', host: '127.0.0.1', port: 0, metrics: conductor });
});
afterAll(() => ops.close());

it("sums the binds and the duration buckets of this process and each conductor's metrics port", async () => {
  api.binds.inc({ outcome: 'bound', reason: 'none' }, 2);
  api.bindDuration.observe({ outcome: 'bound' }, 0.02);
  api.bindDuration.observe({ outcome: 'bound' }, 0.3);
  conductor.binds.inc({ outcome: 'bound', reason: 'none' }, 1);
  conductor.binds.inc({ outcome: 'failed', reason: 'deadline' }, 1);
  conductor.bindDuration.observe({ outcome: 'bound' }, 0.04);
  conductor.bindDuration.observe({ outcome: 'failed' }, 30);

  const sample = await sampleBindMetrics(
    [
      { name: 'api', read: () => localBindMetrics(api) },
      { name: ops.url, read: () => remoteBindMetrics(ops.url, 2000) },
    ],
    new Date('2026-12-01T10:00:00Z'),
  );

  expect(sample.sampled_at).toBe('2026-12-01T10:00:00.000Z');
  expect(sample.sources.map((s) => [s.source, s.ok])).toEqual([
    ['api', true],
    [ops.url, true],
  ]);
  // Each source's own series, for differences taken per source: the conductor's one bound, one failed.
  const [own, remote] = sample.sources;
  expect(own.binds).toEqual([{ outcome: 'bound', reason: 'none', count: 2 }]);
  expect(remote.binds).toEqual(
    expect.arrayContaining([
      { outcome: 'bound', reason: 'none', count: 1 },
      { outcome: 'failed', reason: 'deadline', count: 1 },
    ]),
  );
  expect(remote.duration?.find((o) => o.outcome === 'bound')?.count).toBe(1);
  expect(own.duration?.find((o) => o.outcome === 'bound')?.buckets.slice(0, 7)).toEqual([0, 0, 1, 1, 1, 1, 2]);
  // Both run in this process: its start time, to the second as prom-client keeps it.
  const started = Date.now() - process.uptime() * 1000;
  for (const s of sample.sources) expect(Math.abs(Date.parse(s.started_at!) - started)).toBeLessThanOrEqual(1000);
  expect(sample.binds).toEqual(
    expect.arrayContaining([
      { outcome: 'bound', reason: 'none', count: 3 },
      { outcome: 'failed', reason: 'deadline', count: 1 },
    ]),
  );
  expect(sample.binds).toHaveLength(2);
  expect(sample.duration.le).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);
  const bound = sample.duration.outcomes.find((o) => o.outcome === 'bound')!;
  expect(bound.count).toBe(3);
  expect(bound.sum_seconds).toBeCloseTo(0.36);
  // Cumulative: 0.02 under 0.025, then 0.04 under 0.05, then 0.3 under 0.5.
  expect(bound.buckets.slice(0, 7)).toEqual([0, 0, 1, 2, 2, 2, 3]);
  expect(bound.buckets[bound.buckets.length - 1]).toBe(3);
  const failed = sample.duration.outcomes.find((o) => o.outcome === 'failed')!;
  expect(failed.count).toBe(1);
  expect(failed.buckets[sample.duration.le.indexOf(30)]).toBe(1);
  expect(failed.buckets[sample.duration.le.indexOf(10)]).toBe(0);
});

it('names a conductor that does not answer, and still reports the others', async () => {
  const gone = await serveOps({ service: 'conductor', host: '127.0.0.1', port: 0, metrics: new CyborgMetrics() });
  await gone.close();
  const sample = await sampleBindMetrics([
    { name: 'api', read: () => localBindMetrics(api) },
    { name: gone.url, read: () => remoteBindMetrics(gone.url, 2000) },
  ]);
  expect(sample.sources[0]).toMatchObject({ source: 'api', ok: true });
  expect(sample.sources[1]).toEqual({ source: gone.url, ok: false, error: expect.any(String) });
  expect(sample.sources[1].error).toMatch(/fetch failed|ECONNREFUSED/);
  expect(sample.binds.find((b) => b.outcome === 'bound')?.count).toBeGreaterThan(0);
});

it('names the address and the status when a URL is no metrics port', async () => {
  await expect(remoteBindMetrics(`${ops.url}/elsewhere`, 2000)).rejects.toThrow(
    `${ops.url}/elsewhere/metrics/json answered 404`,
  );
});
