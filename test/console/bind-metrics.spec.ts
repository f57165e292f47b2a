import { bindLatencies, bindRates, histogramQuantile, increase } from '../../apps/console/src/bind-metrics';
import type { BindMetricsSample } from '../../apps/console/src/types';

/** The console's arithmetic on its samples of `GET /v2/bind_metrics`: Prometheus's `increase` and `histogram_quantile`. */
const LE = [0.01, 0.1, 1];

function sample(at: string, bound: number, failed: number, buckets: number[]): BindMetricsSample {
  return {
    sampled_at: at,
    sources: [{ source: 'api', ok: true }],
    binds: [
      { outcome: 'bound', reason: 'none', count: bound },
      { outcome: 'failed', reason: 'deadline', count: failed },
    ],
    duration: { le: LE, outcomes: [{ outcome: 'bound', buckets, count: bound, sum_seconds: 0 }] },
  };
}

it('reads a fallen counter as a restart from zero', () => {
  expect(increase(5, 8)).toBe(3);
  expect(increase(8, 2)).toBe(2);
});

it('interpolates a quantile within its bucket, from 0 for the first, and caps it at the highest finite bound', () => {
  // 10 binds: 4 under 10 ms, 4 more under 100 ms, 2 more under 1 s.
  expect(histogramQuantile(0.2, LE, [4, 8, 10], 10)).toBeCloseTo(0.005);
  expect(histogramQuantile(0.5, LE, [4, 8, 10], 10)).toBeCloseTo(0.01 + 0.09 * (1 / 4));
  expect(histogramQuantile(0.9, LE, [4, 8, 10], 10)).toBeCloseTo(0.1 + 0.9 * (1 / 2));
  // Two binds past the last bound (+Inf): the highest finite bound, as Prometheus answers.
  expect(histogramQuantile(0.99, LE, [4, 8, 8], 10)).toBe(1);
  expect(histogramQuantile(0.5, LE, [0, 0, 0], 0)).toBeNull();
});

it('draws binds per second between samples and the latency of the last minute from the buckets that grew', () => {
  const samples = [
    sample('2026-12-01T10:00:00Z', 100, 1, [100, 100, 100]),
    sample('2026-12-01T10:00:05Z', 110, 1, [100, 110, 110]),
    sample('2026-12-01T10:00:10Z', 110, 3, [100, 110, 110]),
    sample('2026-12-01T10:01:30Z', 112, 3, [100, 110, 112]),
  ];
  const rates = bindRates(samples);
  expect(rates.map((r) => [r.bound, r.failed])).toEqual([
    [2, 0],
    [0, 0.4],
    [2 / 80, 0],
  ]);
  const latencies = bindLatencies(samples, 60_000);
  // The 100 binds before sampling began are not in it: only the 10 between 10 and 100 ms.
  expect(latencies[0].binds).toBe(10);
  expect(latencies[0].p50).toBeCloseTo(0.01 + 0.09 * 0.5);
  expect(latencies[1].binds).toBe(10);
  // The window of the last sample reaches back only to the one before it, 80 s earlier: 2 binds under 1 s.
  expect(latencies[2].binds).toBe(2);
  expect(latencies[2].p99).toBeCloseTo(0.1 + 0.9 * 0.99);
});
