import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, useApi } from '../api';
import { bindLatencies, bindRates } from '../bind-metrics';
import type { BindMetricsSample, BindReport, LogReaders, PlacementSyncHost } from '../types';
import { BindLatencyChart, BindRateChart } from '../components/charts';
import { Badge, Empty, Failure, Loading, Panel, show, time } from '../components/ui';

/** How often the console samples the bind metrics, and how much it keeps and draws. */
const SAMPLE_EVERY_MS = 5000;
const KEEP_MS = 10 * 60_000;
/** The latency at a sample is over the binds of the minute before it, as `rate(...[1m])` would. */
const LATENCY_WINDOW_MS = 60_000;

/** Where the log's readers stand, Placement sync per host, binds from the metrics and from the log. */
export function StatusPage() {
  const readers = useApi<LogReaders>('/v2/log_readers');
  const sync = useApi<{ hosts: PlacementSyncHost[] }>('/v2/placement_sync');
  const binds = useApi<BindReport>('/v2/binds');
  return (
    <>
      <BindMetricsPanel />
      <Panel
        title="Binds in the last hour, from the log"
        actions={
          <button type="button" onClick={binds.reload}>
            Refresh
          </button>
        }
      >
        {binds.loading && !binds.data ? <Loading /> : null}
        {binds.error ? <Failure error={binds.error} /> : null}
        {binds.data ? (
          <div class="facts" data-testid="bind-summary">
            <Stat label="Started" value={binds.data.summary.started} />
            <Stat label="Bound" value={binds.data.summary.bound} />
            <Stat label="Failed" value={binds.data.summary.failed} />
            <Stat label="Interrupted" value={binds.data.summary.interrupted} />
            <Stat label="In progress" value={binds.data.summary.in_progress} />
            <Stat label="p50" value={ms(binds.data.summary.latency_ms?.p50)} />
            <Stat label="p90" value={ms(binds.data.summary.latency_ms?.p90)} />
            <Stat label="max" value={ms(binds.data.summary.latency_ms?.max)} />
          </div>
        ) : null}
      </Panel>
      <Panel
        title="Log readers"
        actions={
          <button type="button" onClick={readers.reload}>
            Refresh
          </button>
        }
      >
        {readers.loading && !readers.data ? <Loading /> : null}
        {readers.error ? <Failure error={readers.error} /> : null}
        {readers.data ? (
          <>
            <p class="muted">
              Head of the log: #{readers.data.head.position} ({time(readers.data.head.occurred_at)})
            </p>
            <table class="grid" data-testid="log-readers">
              <thead>
                <tr>
                  <th>Reader</th>
                  <th>Kind</th>
                  <th class="num">Position</th>
                  <th class="num">Lag (events)</th>
                  <th class="num">Lag (s)</th>
                  <th class="num">Handled</th>
                  <th>Active</th>
                  <th>Last error</th>
                </tr>
              </thead>
              <tbody>
                {readers.data.readers.map((r) => (
                  <tr key={r.name}>
                    <td>{r.name}</td>
                    <td>{r.kind}</td>
                    <td class="num">{r.position}</td>
                    <td class="num">
                      <Badge value={String(r.lag)} tone={r.lag === 0 ? 'ok' : r.lag < 100 ? 'warn' : 'bad'} />
                    </td>
                    <td class="num">{r.lag_seconds}</td>
                    <td class="num">{r.events_handled}</td>
                    <td>{r.active === null ? '–' : r.rebuilding ? 'rebuilding' : r.active ? 'yes' : 'no'}</td>
                    <td class={r.last_error ? 'reason' : 'muted'}>
                      {r.last_error ? `${time(r.last_error_at)} ${r.last_error}` : '–'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </Panel>
      <Panel
        title="Placement sync"
        actions={
          <button type="button" onClick={sync.reload}>
            Refresh
          </button>
        }
      >
        {sync.loading && !sync.data ? <Loading /> : null}
        {sync.error ? <Failure error={sync.error} /> : null}
        {sync.data && sync.data.hosts.length === 0 ? (
          <Empty>No host synced to Placement yet (PLACEMENT_URL unset, or placement-sync not running).</Empty>
        ) : null}
        {sync.data && sync.data.hosts.length > 0 ? (
          <table class="grid" data-testid="placement-sync">
            <thead>
              <tr>
                {Object.keys(sync.data.hosts[0]).map((k) => (
                  <th key={k}>{k}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {sync.data.hosts.map((h) => (
                <tr key={h.hostname}>
                  {Object.entries(h).map(([k, v]) => (
                    <td key={k}>{k.endsWith('_at') && typeof v === 'string' ? time(v) : show(v)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Panel>
    </>
  );
}

const ms = (value: number | undefined) => (value === undefined ? '–' : `${value} ms`);
const seconds = (value: number | null | undefined) =>
  value === null || value === undefined ? '–' : `${Math.round(value * 10_000) / 10} ms`;
const perSecond = (value: number | undefined) => (value === undefined ? '–' : `${value.toFixed(2)}/s`);

/** Samples `GET /v2/bind_metrics` every few seconds while the page is open, keeping the last minutes. */
function useBindMetrics(): { samples: BindMetricsSample[]; error: ApiError | null } {
  const [samples, setSamples] = useState<BindMetricsSample[]>([]);
  const [error, setError] = useState<ApiError | null>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let open = true;
    const sample = () =>
      api<BindMetricsSample>('/v2/bind_metrics')
        .then((s) => {
          if (!open) return;
          setError(null);
          const oldest = Date.parse(s.sampled_at) - KEEP_MS;
          setSamples((kept) => [...kept.filter((k) => Date.parse(k.sampled_at) >= oldest), s]);
          timer = setTimeout(sample, SAMPLE_EVERY_MS);
        })
        .catch((e: unknown) => {
          if (!open) return;
          const failure = e instanceof ApiError ? e : new ApiError(0, String(e));
          setError(failure);
          // Not allowed stays not allowed; anything else may pass.
          if (failure.status !== 403 && failure.status !== 401) timer = setTimeout(sample, SAMPLE_EVERY_MS);
        });
    void sample();
    return () => {
      open = false;
      clearTimeout(timer);
    };
  }, []);
  return { samples, error };
}

/** Throughput and latency of binds from the Prometheus metrics, drawn from the console's own samples. */
function BindMetricsPanel() {
  const { samples, error } = useBindMetrics();
  const last = samples[samples.length - 1];
  const rates = bindRates(samples);
  const latencies = bindLatencies(samples, LATENCY_WINDOW_MS);
  // The time axis grows with the samples, from a minute up to KEEP_MS, so the first ones are not a sliver.
  const window = last
    ? {
        from: Math.max(
          Date.parse(last.sampled_at) - KEEP_MS,
          Math.min(Date.parse(samples[0].sampled_at), Date.parse(last.sampled_at) - LATENCY_WINDOW_MS),
        ),
        to: Date.parse(last.sampled_at),
      }
    : null;
  const count = (outcome: string) =>
    last?.binds.filter((b) => b.outcome === outcome).reduce((sum, b) => sum + b.count, 0) ?? 0;
  const latest = latencies[latencies.length - 1];
  const lastRate = rates[rates.length - 1];
  const minute = rates.filter((r) => last && Date.parse(last.sampled_at) - r.at < LATENCY_WINDOW_MS);
  const minuteSeconds = minute.reduce((sum, r) => sum + r.seconds, 0);
  const minuteRate = (outcome: 'bound' | 'failed') =>
    minuteSeconds > 0 ? minute.reduce((sum, r) => sum + r[outcome] * r.seconds, 0) / minuteSeconds : undefined;
  return (
    <Panel title={`Binds from the metrics, last ${KEEP_MS / 60_000} minutes`}>
      {error ? <Failure error={error} /> : null}
      {!last && !error ? <Loading /> : null}
      {last
        ? last.sources
            .filter((s) => !s.ok)
            .map((s) => (
              <p key={s.source} class="reason" data-testid="bind-metrics-source-down">
                {s.source} did not answer ({s.error}): its binds are missing from these figures.
              </p>
            ))
        : null}
      {last && window ? (
        <>
          <p class="muted">
            Sampled every {SAMPLE_EVERY_MS / 1000} s from {last.sources.map((s) => s.source).join(', ')} since this page
            opened; totals count from each process's start.
          </p>
          <div class="facts" data-testid="bind-metrics" data-samples={samples.length}>
            <Stat label="Bound (total)" value={count('bound')} />
            <Stat label="Failed (total)" value={count('failed')} />
            <Stat label="Bound, last minute" value={perSecond(minuteRate('bound'))} />
            <Stat label="Failed, last minute" value={perSecond(minuteRate('failed'))} />
            <Stat label="p50" value={seconds(latest?.p50)} />
            <Stat label="p95" value={seconds(latest?.p95)} />
            <Stat label="p99" value={seconds(latest?.p99)} />
          </div>
          <div class="charts">
            <figure>
              <figcaption>
                Throughput{lastRate ? ` (${perSecond(lastRate.bound + lastRate.failed)} now)` : ''}
              </figcaption>
              <BindRateChart points={rates} window={window} />
            </figure>
            <figure>
              <figcaption>Bind latency</figcaption>
              <BindLatencyChart points={latencies} window={window} />
            </figure>
          </div>
        </>
      ) : null}
    </Panel>
  );
}

function Stat({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="fact">
      <div class="fact-label">{label}</div>
      <div class="fact-value big">{value}</div>
    </div>
  );
}
