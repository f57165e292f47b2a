import type { BindMetricsSample, BindMetricsSource } from './types';

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

/** What a source's counters grew by between two samples: binds by outcome, and the Bound histogram. */
interface Growth {
  bound: number;
  failed: number;
  /** Cumulative, on the later sample's `le`. */
  buckets: number[];
  count: number;
}

const noGrowth = (le: number[]): Growth => ({ bound: 0, failed: 0, buckets: le.map(() => 0), count: 0 });

const outcomeTotal = (source: BindMetricsSource, outcome: string) =>
  (source.binds ?? []).filter((b) => b.outcome === outcome).reduce((sum, b) => sum + b.count, 0);

/**
 * What one source grew by since `then` (its last answer before, if any),
 * as Prometheus's `increase` per series: a later start time, or a counter
 * that fell, is a restart, whose whole count is growth. A source never
 * seen answering counts only if its process started after sampling began;
 * otherwise its counts before that are unknown and nothing is counted.
 */
function sourceGrowth(
  now: BindMetricsSource,
  then: BindMetricsSource | undefined,
  le: number[],
  samplingSince: number,
): Growth {
  const histogram = (now.duration ?? []).find((o) => o.outcome === 'bound');
  const whole = (): Growth => ({
    bound: outcomeTotal(now, 'bound'),
    failed: outcomeTotal(now, 'failed'),
    buckets: le.map((_, i) => histogram?.buckets[i] ?? 0),
    count: histogram?.count ?? 0,
  });
  if (!then) {
    const startedAfter = now.started_at !== undefined && Date.parse(now.started_at) > samplingSince;
    return startedAfter ? whole() : noGrowth(le);
  }
  if (now.started_at !== undefined && then.started_at !== undefined && now.started_at !== then.started_at) {
    return whole();
  }
  const before = (then.duration ?? []).find((o) => o.outcome === 'bound');
  // A histogram that fell or changed its buckets started over: its whole content is the growth.
  const restarted = !before || (histogram?.count ?? 0) < before.count || before.buckets.length !== le.length;
  return {
    bound: increase(outcomeTotal(then, 'bound'), outcomeTotal(now, 'bound')),
    failed: increase(outcomeTotal(then, 'failed'), outcomeTotal(now, 'failed')),
    buckets: le.map((_, i) =>
      restarted ? (histogram?.buckets[i] ?? 0) : increase(before.buckets[i], histogram?.buckets[i] ?? 0),
    ),
    count: restarted ? (histogram?.count ?? 0) : (histogram?.count ?? 0) - before.count,
  };
}

/**
 * The growth from each sample to the next, added over the sources that
 * answered in the later one, each against its own last answer (which may
 * be several samples back when it did not answer in between).
 */
function steps(samples: BindMetricsSample[]): Growth[] {
  const samplingSince = samples.length > 0 ? Date.parse(samples[0].sampled_at) : 0;
  const lastAnswer = new Map<string, BindMetricsSource>();
  for (const source of samples[0]?.sources ?? []) if (source.ok) lastAnswer.set(source.source, source);
  return samples.slice(1).map((after) => {
    const le = after.duration.le;
    const step = noGrowth(le);
    for (const source of after.sources.filter((s) => s.ok)) {
      const growth = sourceGrowth(source, lastAnswer.get(source.source), le, samplingSince);
      lastAnswer.set(source.source, source);
      step.bound += growth.bound;
      step.failed += growth.failed;
      step.count += growth.count;
      growth.buckets.forEach((b, i) => (step.buckets[i] += b));
    }
    return step;
  });
}

/** Binds ended per second between each pair of consecutive samples, added over the sources. */
export function bindRates(samples: BindMetricsSample[]): RatePoint[] {
  const growth = steps(samples);
  return samples.slice(1).map((after, i) => {
    const before = samples[i];
    const seconds = Math.max(0.001, (Date.parse(after.sampled_at) - Date.parse(before.sampled_at)) / 1000);
    return {
      at: Date.parse(after.sampled_at),
      seconds,
      bound: growth[i].bound / seconds,
      failed: growth[i].failed / seconds,
    };
  });
}

/** p50, p95 and p99 of the binds that reached Bound within `windowMs` before each sample, from the buckets' growth. */
export function bindLatencies(samples: BindMetricsSample[], windowMs: number): LatencyPoint[] {
  const growth = steps(samples);
  return samples.slice(1).map((after, i) => {
    const at = Date.parse(after.sampled_at);
    const le = after.duration.le;
    // The oldest sample still in the window, at least the one just before.
    let from = i;
    while (from > 0 && at - Date.parse(samples[from - 1].sampled_at) <= windowMs) from--;
    const window = noGrowth(le);
    for (const step of growth.slice(from, i + 1)) {
      window.count += step.count;
      le.forEach((_, b) => (window.buckets[b] += step.buckets[b] ?? 0));
    }
    const point = (q: number) => histogramQuantile(q, le, window.buckets, window.count);
    return { at, p50: point(0.5), p95: point(0.95), p99: point(0.99), binds: window.count };
  });
}
