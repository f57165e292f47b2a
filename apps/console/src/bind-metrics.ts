import type { BindMetricsSample } from './types';

/** Binds ended per second over one sampling interval, by outcome. */
export interface RatePoint {
  at: number;
  seconds: number;
  bound: number;
  failed: number;
}

/** Bind latency (BindStarted → Bound) over the window ending at `at`, in seconds; null without a bind in it. */
export interface LatencyPoint {
  at: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  binds: number;
}

/** How much a counter grew; a smaller value means its process restarted from zero, as Prometheus's `increase` takes it. */
export function increase(before: number, after: number): number {
  return after >= before ? after - before : after;
}

/**
 * The q-quantile of a histogram's growth, as Prometheus's `histogram_quantile`:
 * linear within the bucket it falls in, the first bucket starting at 0, the
 * highest finite bound when it falls past the last one. `buckets` are cumulative.
 */
export function histogramQuantile(q: number, le: number[], buckets: number[], count: number): number | null {
  if (count <= 0) return null;
  const rank = q * count;
  for (let i = 0; i < le.length; i++) {
    if (buckets[i] >= rank) {
      const lower = i === 0 ? 0 : le[i - 1];
      const below = i === 0 ? 0 : buckets[i - 1];
      const inBucket = buckets[i] - below;
      return inBucket <= 0 ? le[i] : lower + ((le[i] - lower) * (rank - below)) / inBucket;
    }
  }
  return le.length > 0 ? le[le.length - 1] : null;
}

const total = (sample: BindMetricsSample, outcome: string) =>
  sample.binds.filter((b) => b.outcome === outcome).reduce((sum, b) => sum + b.count, 0);

/** Binds ended per second between each pair of consecutive samples. */
export function bindRates(samples: BindMetricsSample[]): RatePoint[] {
  return samples.slice(1).map((after, i) => {
    const before = samples[i];
    const seconds = Math.max(0.001, (Date.parse(after.sampled_at) - Date.parse(before.sampled_at)) / 1000);
    return {
      at: Date.parse(after.sampled_at),
      seconds,
      bound: increase(total(before, 'bound'), total(after, 'bound')) / seconds,
      failed: increase(total(before, 'failed'), total(after, 'failed')) / seconds,
    };
  });
}

/** p50, p95 and p99 of the binds that reached Bound within `windowMs` before each sample, from the buckets' growth. */
export function bindLatencies(samples: BindMetricsSample[], windowMs: number): LatencyPoint[] {
  return samples.slice(1).map((after, i) => {
    const at = Date.parse(after.sampled_at);
    // The oldest sample still in the window, at least the one just before.
    let from = i;
    while (from > 0 && at - Date.parse(samples[from - 1].sampled_at) <= windowMs) from--;
    const growth = boundGrowth(samples[from], after);
    const point = (q: number) => (growth ? histogramQuantile(q, growth.le, growth.buckets, growth.count) : null);
    return { at, p50: point(0.5), p95: point(0.95), p99: point(0.99), binds: growth?.count ?? 0 };
  });
}

function boundGrowth(before: BindMetricsSample, after: BindMetricsSample) {
  const now = after.duration.outcomes.find((o) => o.outcome === 'bound');
  if (!now) return null;
  const then = before.duration.outcomes.find((o) => o.outcome === 'bound');
  // A restart (count fell) starts the histogram over: its whole content is the growth.
  const restarted = !then || now.count < then.count || then.buckets.length !== now.buckets.length;
  return {
    le: after.duration.le,
    buckets: now.buckets.map((b, i) => (restarted ? b : increase(then.buckets[i], b))),
    count: restarted ? now.count : now.count - then.count,
  };
}
