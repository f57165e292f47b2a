import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { CyborgMetrics } from './metrics';

/** The metrics a bind report reads: the outcomes counter and the BindStarted → end histogram. */
export const BIND_METRIC_NAMES = ['cyborg_binds_total', 'cyborg_bind_duration_seconds'] as const;

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Where a sample's values came from: this process's registry, or a conductor's metrics port. */
export interface BindMetricsSource {
  source: string;
  ok: boolean;
  error?: string;
}

/** One outcome's bind durations: cumulative counts at each bucket's upper bound (`le`), as Prometheus keeps them. */
export interface BindDurationSeries {
  outcome: string;
  /** Cumulative, one per `le` of the report; the `+Inf` bucket is `count`. */
  buckets: number[];
  count: number;
  sum_seconds: number;
}

/**
 * The bind metrics at one moment, summed over every source: counters since
 * each process started. Rates and quantiles come from the difference of two
 * samples, as Prometheus's `rate` and `histogram_quantile` do.
 */
export interface BindMetricsSample {
  sampled_at: string;
  sources: BindMetricsSource[];
  binds: { outcome: string; reason: string; count: number }[];
  duration: { le: number[]; outcomes: BindDurationSeries[] };
}

/** This process's bind metrics, as prom-client's JSON: in `npm start` the conductor records into the same registry. */
export async function localBindMetrics(metrics: CyborgMetrics): Promise<MetricsJson> {
  const json = await Promise.all(BIND_METRIC_NAMES.map((name) => metrics.registry.getSingleMetric(name)?.get()));
  return json.filter((m) => m !== undefined) as MetricsJson;
}

/** A conductor's bind metrics from its metrics port (`/metrics/json`), prom-client's JSON of its registry. */
export async function remoteBindMetrics(baseUrl: string, timeoutMs: number): Promise<MetricsJson> {
  const url = new URL('metrics/json', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const response = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  const body: unknown = await response.json();
  if (!Array.isArray(body)) throw new Error(`${url.href} did not answer a list of metrics`);
  const names = new Set<string>(BIND_METRIC_NAMES);
  return (body as MetricsJson).filter((m) => names.has(m?.name) && Array.isArray(m.values));
}

/**
 * Reads the bind metrics of every source and sums them with prom-client's
 * aggregation (the one its cluster mode uses). A source that cannot answer
 * is named with its error; the others still count.
 */
export async function sampleBindMetrics(
  sources: { name: string; read: () => Promise<MetricsJson> }[],
  now: Date = new Date(),
): Promise<BindMetricsSample> {
  const read = await Promise.allSettled(sources.map((s) => s.read()));
  const answered: MetricsJson[] = [];
  const status = read.map((result, i): BindMetricsSource => {
    if (result.status === 'fulfilled') {
      answered.push(result.value);
      return { source: sources[i].name, ok: true };
    }
    const reason: unknown = result.reason;
    return { source: sources[i].name, ok: false, error: reason instanceof Error ? reason.message : String(reason) };
  });
  const registry = AggregatorRegistry.aggregate(answered);
  const metricValues = async (name: string) =>
    ((await registry.getSingleMetric(name)?.get()) as MetricObjectWithValues<MetricValue<string>> | undefined)
      ?.values ?? [];
  const binds = (await metricValues('cyborg_binds_total')).map((v) => ({
    outcome: String(v.labels.outcome ?? ''),
    reason: String(v.labels.reason ?? ''),
    count: v.value,
  }));
  return {
    sampled_at: now.toISOString(),
    sources: status,
    binds,
    duration: durationOf(await metricValues('cyborg_bind_duration_seconds')),
  };
}

/** prom-client's histogram values (`_bucket` by `le`, `_sum`, `_count`) as one series per outcome. */
function durationOf(values: (MetricValue<string> & { metricName?: string })[]): BindMetricsSample['duration'] {
  const le = [
    ...new Set(
      values.filter((v) => v.metricName?.endsWith('_bucket') && v.labels.le !== '+Inf').map((v) => Number(v.labels.le)),
    ),
  ].sort((a, b) => a - b);
  const byOutcome = new Map<string, BindDurationSeries>();
  const series = (outcome: string) => {
    let found = byOutcome.get(outcome);
    if (!found) {
      found = { outcome, buckets: le.map(() => 0), count: 0, sum_seconds: 0 };
      byOutcome.set(outcome, found);
    }
    return found;
  };
  for (const v of values) {
    const s = series(String(v.labels.outcome ?? ''));
    if (v.metricName?.endsWith('_count')) s.count = v.value;
    else if (v.metricName?.endsWith('_sum')) s.sum_seconds = v.value;
    else if (v.labels.le !== '+Inf') s.buckets[le.indexOf(Number(v.labels.le))] = v.value;
  }
  return { le, outcomes: [...byOutcome.values()] };
}
