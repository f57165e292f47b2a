import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { CyborgMetrics } from './metrics';

/** The metrics a bind report reads: the outcomes counter and the BindStarted → end histogram. */
export const BIND_METRIC_NAMES = ['cyborg_binds_total', 'cyborg_bind_duration_seconds'] as const;
/** prom-client's default gauge of when the process started: a later one means its counters began again at zero. */
const START_TIME = 'process_start_time_seconds';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** A `cyborg_binds_total` series: binds ended with this outcome and reason. */
export interface BindCount {
  outcome: string;
  reason: string;
  count: number;
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
 * Where a sample's values came from: this process's registry, or a
 * conductor's metrics port, with that source's own series. Differences are
 * taken per source, then added, as Prometheus's `rate` does per series: a
 * sum would hide one process restarting while the others keep counting.
 */
export interface BindMetricsSource {
  source: string;
  ok: boolean;
  /** Why it did not answer (its binds are missing from the sums): refused, timed out, not a metrics port. */
  error?: string;
  /** When its process started (`process_start_time_seconds`), where it answered. */
  started_at?: string;
  binds?: BindCount[];
  /** Its histogram series, on the report's `duration.le`. */
  duration?: BindDurationSeries[];
}

/**
 * The bind metrics at one moment: each source's counters since its process
 * started, and their sums over the sources that answered. Rates and
 * quantiles come from the difference of two samples, source by source, as
 * Prometheus's `rate` and `histogram_quantile` do.
 */
export interface BindMetricsSample {
  sampled_at: string;
  sources: BindMetricsSource[];
  binds: BindCount[];
  duration: { le: number[]; outcomes: BindDurationSeries[] };
}

/** This process's bind metrics, as prom-client's JSON: in `npm start` the conductor records into the same registry. */
export async function localBindMetrics(metrics: CyborgMetrics): Promise<MetricsJson> {
  const json = await Promise.all(
    [...BIND_METRIC_NAMES, START_TIME].map((name) => metrics.registry.getSingleMetric(name)?.get()),
  );
  return json.filter((m) => m !== undefined) as MetricsJson;
}

/** A conductor's bind metrics from its metrics port (`/metrics/json`), prom-client's JSON of its registry; `token`: METRICS_TOKEN. */
export async function remoteBindMetrics(baseUrl: string, timeoutMs: number, token = ''): Promise<MetricsJson> {
  const url = new URL('metrics/json', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const response = await fetch(url, {
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
  });
  if (!response.ok) throw new Error(`${url.href} answered ${response.status}`);
  const body: unknown = await response.json();
  if (!Array.isArray(body)) throw new Error(`${url.href} did not answer a list of metrics`);
  const names = new Set<string>([...BIND_METRIC_NAMES, START_TIME]);
  return (body as MetricsJson).filter((m) => names.has(m?.name) && Array.isArray(m.values));
}

/**
 * Reads the bind metrics of every source, keeps each source's series, and
 * sums them with prom-client's aggregation (the one its cluster mode uses).
 * A source that cannot answer is named with its error; the others still count.
 */
export async function sampleBindMetrics(
  sources: { name: string; read: () => Promise<MetricsJson> }[],
  now: Date = new Date(),
): Promise<BindMetricsSample> {
  const read = await Promise.allSettled(sources.map((s) => s.read()));
  const answered: MetricsJson[] = [];
  const status = await Promise.all(
    read.map(async (result, i): Promise<BindMetricsSource> => {
      if (result.status === 'rejected') {
        const reason: unknown = result.reason;
        return { source: sources[i].name, ok: false, error: reason instanceof Error ? reason.message : String(reason) };
      }
      const json = result.value.filter((m) => m.name !== START_TIME);
      answered.push(json);
      const started = result.value.find((m) => m.name === START_TIME)?.values[0]?.value;
      const own = await summed([json]);
      return {
        source: sources[i].name,
        ok: true,
        ...(started !== undefined && { started_at: new Date(started * 1000).toISOString() }),
        binds: own.binds,
        duration: own.duration.outcomes,
      };
    }),
  );
  const total = await summed(answered);
  return { sampled_at: now.toISOString(), sources: status, ...total };
}

/** The binds and durations of several registries' JSON, added series by series. */
async function summed(json: MetricsJson[]): Promise<Pick<BindMetricsSample, 'binds' | 'duration'>> {
  const registry = AggregatorRegistry.aggregate(json);
  const metricValues = async (name: string) =>
    ((await registry.getSingleMetric(name)?.get()) as MetricObjectWithValues<MetricValue<string>> | undefined)
      ?.values ?? [];
  const binds = (await metricValues('cyborg_binds_total')).map((v) => ({
    outcome: String(v.labels.outcome ?? ''),
    reason: String(v.labels.reason ?? ''),
    count: v.value,
  }));
  return { binds, duration: durationOf(await metricValues('cyborg_bind_duration_seconds')) };
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
