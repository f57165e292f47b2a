import { bindLatencies, bindRates, histogramQuantile, increase } from '../../apps/console/src/bind-metrics';
import type { BindMetricsSample } from '../../apps/console/src/types';

/** The console's arithmetic on its samples of `GET /v2/bind_metrics`: Prometheus's `increase` and `histogram_quantile`. */
const LE = [0.01, 0.1, 1];

interface Counted {
  bound: number;
  failed: number;
  buckets: number[];
  started?: string;
}

/** One source's series, as the API reports each of them. */
function source(name: string, c: Counted | 'down') {
  if (c === 'down') return { source: name, ok: false, error: `${name}/metrics/json: fetch failed` };
  return {
    source: name,
    ok: true,
    ...(c.started && { started_at: c.started }),
    binds: [
      { outcome: 'bound', reason: 'none', count: c.bound },
      { outcome: 'failed', reason: 'deadline', count: c.failed },
    ],
    duration: [{ outcome: 'bound', buckets: c.buckets, count: c.bound, sum_seconds: 0 }],
  };
}

/** A sample of several sources; the sums are those of the sources that answered. */
function sampleOf(at: string, sources: Record<string, Counted | 'down'>): BindMetricsSample {
  const up = Object.values(sources).filter((c): c is Counted => c !== 'down');
  const add = (f: (c: Counted) => number) => up.reduce((n, c) => n + f(c), 0);
  return {
    sampled_at: at,
    sources: Object.entries(sources).map(([name, c]) => source(name, c)),
    binds: [
      { outcome: 'bound', reason: 'none', count: add((c) => c.bound) },
      { outcome: 'failed', reason: 'deadline', count: add((c) => c.failed) },
    ],
    duration: {
      le: LE,
      outcomes: [
        {
          outcome: 'bound',
          buckets: LE.map((_, i) => add((c) => c.buckets[i])),
          count: add((c) => c.bound),
          sum_seconds: 0,
        },
      ],
    },
  };
}

function sample(at: string, bound: number, failed: number, buckets: number[]): BindMetricsSample {
  return sampleOf(at, { api: { bound, failed, buckets } });
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

const STARTED = '2026-12-01T09:00:00.000Z';

it("takes each conductor's growth on its own, so one restarting does not hide what the other counted", () => {
  const samples = [
    sampleOf('2026-12-01T10:00:00Z', {
      c1: { bound: 50, failed: 0, buckets: [0, 50, 50], started: STARTED },
      c2: { bound: 40, failed: 2, buckets: [40, 40, 40], started: STARTED },
    }),
    // c1 restarted at 10:00:03 and bound 3 since; c2 bound 10 more. The sum fell from 90 to 53.
    sampleOf('2026-12-01T10:00:05Z', {
      c1: { bound: 3, failed: 0, buckets: [0, 3, 3], started: '2026-12-01T10:00:03.000Z' },
      c2: { bound: 50, failed: 2, buckets: [50, 50, 50], started: STARTED },
    }),
  ];
  const [rate] = bindRates(samples);
  expect(rate.bound).toBe((3 + 10) / 5);
  expect(rate.failed).toBe(0);
  const [latency] = bindLatencies(samples, 60_000);
  expect(latency.binds).toBe(13);
  // 10 under 10 ms (c2), 3 between 10 and 100 ms (c1 since its restart).
  expect(latency.p50).toBeCloseTo(0.01 * (6.5 / 10));
  expect(latency.p95).toBeCloseTo(0.01 + 0.09 * ((0.95 * 13 - 10) / 3));
});

it('counts a restart whose start time was not reported by its counter falling, per source', () => {
  const samples = [
    sampleOf('2026-12-01T10:00:00Z', {
      c1: { bound: 8, failed: 1, buckets: [8, 8, 8] },
      c2: { bound: 1, failed: 0, buckets: [1, 1, 1] },
    }),
    sampleOf('2026-12-01T10:00:10Z', {
      c1: { bound: 2, failed: 0, buckets: [2, 2, 2] },
      c2: { bound: 9, failed: 0, buckets: [1, 9, 9] },
    }),
  ];
  expect(bindRates(samples).map((r) => [r.bound, r.failed])).toEqual([[(2 + 8) / 10, 0]]);
  expect(bindLatencies(samples, 60_000)[0].binds).toBe(10);
});

it('leaves out a source while it does not answer, and counts its growth from its last answer when it is back', () => {
  const samples = [
    sampleOf('2026-12-01T10:00:00Z', {
      c1: { bound: 10, failed: 0, buckets: [10, 10, 10], started: STARTED },
      c2: { bound: 10, failed: 0, buckets: [10, 10, 10], started: STARTED },
    }),
    sampleOf('2026-12-01T10:00:05Z', {
      c1: 'down',
      c2: { bound: 15, failed: 0, buckets: [15, 15, 15], started: STARTED },
    }),
    // The same c1 process, unreachable for a moment: its 4 binds since 10:00:00 count now.
    sampleOf('2026-12-01T10:00:10Z', {
      c1: { bound: 14, failed: 0, buckets: [14, 14, 14], started: STARTED },
      c2: { bound: 15, failed: 0, buckets: [15, 15, 15], started: STARTED },
    }),
  ];
  expect(bindRates(samples).map((r) => r.bound)).toEqual([1, 4 / 5]);
  expect(bindLatencies(samples, 60_000).map((l) => l.binds)).toEqual([5, 9]);
});

it('counts a conductor first seen after sampling began whole only if it started since', () => {
  const first = sampleOf('2026-12-01T10:00:00Z', {
    c1: { bound: 10, failed: 0, buckets: [10, 10, 10], started: STARTED },
  });
  const joined = (started: string) =>
    sampleOf('2026-12-01T10:00:05Z', {
      c1: { bound: 10, failed: 0, buckets: [10, 10, 10], started: STARTED },
      c2: { bound: 7, failed: 0, buckets: [7, 7, 7], started },
    });
  // Started at 10:00:02: all 7 binds are of this interval.
  expect(bindRates([first, joined('2026-12-01T10:00:02.000Z')])[0].bound).toBe(7 / 5);
  // Running since 09:00 and only now reachable: what it counted before sampling began is unknown.
  expect(bindRates([first, joined(STARTED)])[0].bound).toBe(0);
});
