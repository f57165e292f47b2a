import { useApi } from '../api';
import type { BindReport, LogReaders, PlacementSyncHost } from '../types';
import { LatencyHistogram, ThroughputChart } from '../components/charts';
import { Badge, Empty, Failure, Loading, Panel, show, time } from '../components/ui';

/** Where the log's readers stand, Placement sync per host, and binds from the log. */
export function StatusPage() {
  const readers = useApi<LogReaders>('/v2/log_readers');
  const sync = useApi<{ hosts: PlacementSyncHost[] }>('/v2/placement_sync');
  const binds = useApi<BindReport>('/v2/binds');
  return (
    <>
      <Panel
        title="Binds in the last hour"
        actions={
          <button type="button" onClick={binds.reload}>
            Refresh
          </button>
        }
      >
        {binds.loading && !binds.data ? <Loading /> : null}
        {binds.error ? <Failure error={binds.error} /> : null}
        {binds.data ? (
          <>
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
            <div class="charts">
              <figure>
                <figcaption>Bind latency</figcaption>
                <LatencyHistogram binds={binds.data.binds} summary={binds.data.summary} />
              </figure>
              <figure>
                <figcaption>Throughput</figcaption>
                <ThroughputChart throughput={binds.data.throughput} />
              </figure>
            </div>
          </>
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

function Stat({ label, value }: { label: string; value: string | number }) {
  return (
    <div class="fact">
      <div class="fact-label">{label}</div>
      <div class="fact-value big">{value}</div>
    </div>
  );
}
