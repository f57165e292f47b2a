import { useApi } from '../api';
import { href } from '../router';
import type { Arq, History } from '../types';
import { Timeline } from '../components/timeline';
import { Badge, Empty, Failure, Id, KeyValues, Loading, Panel, time } from '../components/ui';

export function ArqsPage() {
  const { data, error, loading, reload } = useApi<{ arqs: Arq[] }>('/v2/accelerator_requests');
  const counts = new Map<string, number>();
  for (const arq of data?.arqs ?? []) counts.set(arq.state, (counts.get(arq.state) ?? 0) + 1);
  return (
    <Panel
      title="Accelerator requests"
      actions={
        <>
          {[...counts].map(([state, n]) => (
            <span key={state} class="count">
              <Badge value={state} /> {n}
            </span>
          ))}
          <button type="button" onClick={reload}>
            Refresh
          </button>
        </>
      }
    >
      {loading && !data ? <Loading /> : null}
      {error ? <Failure error={error} /> : null}
      {data && data.arqs.length === 0 ? <Empty>No accelerator requests you can see.</Empty> : null}
      {data && data.arqs.length > 0 ? (
        <table class="grid" data-testid="arqs">
          <thead>
            <tr>
              <th>ARQ</th>
              <th>State</th>
              <th>Device profile</th>
              <th>Host</th>
              <th>Instance</th>
              <th>Project</th>
              <th>Attach handle</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {data.arqs.map((arq) => (
              <tr key={arq.uuid} data-arq={arq.uuid}>
                <td>
                  <a href={href('arqs', arq.uuid)}>
                    <Id value={arq.uuid} />
                  </a>
                </td>
                <td>
                  <Badge value={arq.state} />
                </td>
                <td>
                  {arq.device_profile_name} <span class="muted">group {arq.device_profile_group_id}</span>
                </td>
                <td>{arq.hostname ?? '–'}</td>
                <td>
                  <Id value={arq.instance_uuid} />
                </td>
                <td>{arq.project_id ?? '–'}</td>
                <td>
                  {arq.attach_handle_type ? `${arq.attach_handle_type} ` : ''}
                  <Id value={arq.attach_handle_uuid} />
                </td>
                <td>{time(arq.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Panel>
  );
}

export function ArqPage({ uuid }: { uuid: string }) {
  const arq = useApi<Arq>(`/v2/accelerator_requests/${uuid}`);
  const history = useApi<History>(`/v2/accelerator_requests/${uuid}/history`);
  return (
    <>
      <Panel title={`ARQ ${uuid}`} actions={arq.data ? <Badge value={arq.data.state} /> : null}>
        {arq.loading ? <Loading /> : null}
        {arq.error && arq.error.status === 404 && history.data ? (
          <p class="muted">Deleted: its history stays in the log.</p>
        ) : arq.error ? (
          <Failure error={arq.error} />
        ) : null}
        {arq.data ? (
          <KeyValues
            values={{
              device_profile: `${arq.data.device_profile_name} (group ${arq.data.device_profile_group_id})`,
              host: arq.data.hostname,
              device_rp_uuid: arq.data.device_rp_uuid,
              instance: arq.data.instance_uuid,
              project: arq.data.project_id,
              attach_handle: arq.data.attach_handle_uuid,
              created_at: time(arq.data.created_at),
              updated_at: time(arq.data.updated_at),
            }}
          />
        ) : null}
      </Panel>
      <HistoryPanel title="History" loaded={history} stateAtPath={`/v2/accelerator_requests/${uuid}/state_at`} />
    </>
  );
}

export function HistoryPanel({
  title,
  loaded,
  stateAtPath,
}: {
  title: string;
  loaded: ReturnType<typeof useApi<History>>;
  stateAtPath: string;
}) {
  return (
    <Panel
      title={title}
      actions={
        <button type="button" onClick={loaded.reload}>
          Refresh
        </button>
      }
    >
      {loaded.loading && !loaded.data ? <Loading /> : null}
      {loaded.error ? <Failure error={loaded.error} /> : null}
      {loaded.data ? <Timeline history={loaded.data} stateAtPath={stateAtPath} /> : null}
    </Panel>
  );
}

export function DevicePage({ uuid }: { uuid: string }) {
  const history = useApi<History>(`/v2/devices/${uuid}/history`);
  return <HistoryPanel title={`Device ${uuid}`} loaded={history} stateAtPath={`/v2/devices/${uuid}/state_at`} />;
}

export function HostHistoryPage({ hostname }: { hostname: string }) {
  const name = encodeURIComponent(hostname);
  const history = useApi<History>(`/v2/hosts/${name}/history`);
  return (
    <>
      <p>
        <a href={href('hosts', hostname)}>← {hostname}</a>
      </p>
      <HistoryPanel title={`Host ${hostname}: history`} loaded={history} stateAtPath={`/v2/hosts/${name}/state_at`} />
    </>
  );
}
