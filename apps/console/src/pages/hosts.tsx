import { useApi } from '../api';
import { href } from '../router';
import type { AttachHandle, DeployableNode, Host, HostDetail } from '../types';
import { ago, Badge, Empty, Failure, Id, Loading, Panel, time } from '../components/ui';

export function HostsPage() {
  const { data, error, loading, reload } = useApi<{ hosts: Host[] }>('/v2/hosts');
  return (
    <Panel
      title="Hosts"
      actions={
        <button type="button" onClick={reload}>
          Refresh
        </button>
      }
    >
      {loading && !data ? <Loading /> : null}
      {error ? <Failure error={error} /> : null}
      {data && data.hosts.length === 0 ? <Empty>No agent has reported a host yet.</Empty> : null}
      {data && data.hosts.length > 0 ? (
        <table class="grid" data-testid="hosts">
          <thead>
            <tr>
              <th>Host</th>
              <th>State</th>
              <th>Last heartbeat</th>
              <th>Agent</th>
              <th>Drivers</th>
              <th class="num">Devices</th>
              <th class="num">Deployables</th>
              <th class="num">Handles in use</th>
            </tr>
          </thead>
          <tbody>
            {data.hosts.map((host) => (
              <tr key={host.hostname}>
                <td>
                  <a href={href('hosts', host.hostname)}>{host.hostname}</a>
                </td>
                <td>
                  <Badge value={host.up ? 'up' : 'down'} />
                </td>
                <td title={time(host.last_heartbeat_at)}>{ago(host.last_heartbeat_at)}</td>
                <td>{host.agent_version ?? '–'}</td>
                <td>{host.drivers.join(', ') || '–'}</td>
                <td class="num">{host.devices}</td>
                <td class="num">{host.deployables}</td>
                <td class="num">
                  {host.attach_handles_in_use} / {host.attach_handles}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Panel>
  );
}

export function HostPage({ hostname }: { hostname: string }) {
  const { data, error, loading, reload } = useApi<HostDetail>(`/v2/hosts/${encodeURIComponent(hostname)}`);
  return (
    <>
      <Panel
        title={`Host ${hostname}`}
        actions={
          <>
            <a class="button" href={href('hosts', hostname, 'history')}>
              History
            </a>
            <button type="button" onClick={reload}>
              Refresh
            </button>
          </>
        }
      >
        {loading && !data ? <Loading /> : null}
        {error ? <Failure error={error} /> : null}
        {data ? (
          <div class="facts">
            <Fact label="State">
              <Badge value={data.up ? 'up' : 'down'} />
            </Fact>
            <Fact label="Last heartbeat">
              {ago(data.last_heartbeat_at)} <span class="muted">({time(data.last_heartbeat_at)})</span>
            </Fact>
            <Fact label="Agent version">{data.agent_version ?? '–'}</Fact>
            <Fact label="Drivers">{data.drivers.join(', ') || '–'}</Fact>
            <Fact label="Attach handles in use">
              {data.attach_handles_in_use} / {data.attach_handles}
            </Fact>
          </div>
        ) : null}
      </Panel>
      {data
        ? data.devices_tree.map((device) => (
            <Panel
              key={device.uuid}
              title={`${device.type} · ${device.model}`}
              actions={
                <>
                  <Badge value={device.status} />
                  <a class="button" href={href('devices', device.uuid)}>
                    History
                  </a>
                </>
              }
            >
              <div class="muted device-line">
                {device.vendor} · <Id value={device.uuid} />
                {device.std_board_info ? ` · ${device.std_board_info}` : ''}
              </div>
              <ul class="tree">
                {device.deployables.map((d) => (
                  <Deployable key={d.uuid} node={d} />
                ))}
              </ul>
            </Panel>
          ))
        : null}
    </>
  );
}

function Fact({ label, children }: { label: string; children: preact.ComponentChildren }) {
  return (
    <div class="fact">
      <div class="fact-label">{label}</div>
      <div class="fact-value">{children}</div>
    </div>
  );
}

function Deployable({ node }: { node: DeployableNode }) {
  return (
    <li class="tree-node">
      <div class="tree-label">
        <strong>{node.name}</strong>
        <span class="muted">
          {node.num_accelerators} accelerator(s) · rp <Id value={node.rp_uuid} />
          {node.driver_name ? ` · ${node.driver_name}` : ''}
          {node.bitstream_id ? ` · bitstream ${node.bitstream_id}` : ''}
        </span>
      </div>
      {node.attach_handles.length > 0 ? (
        <table class="grid handles">
          <thead>
            <tr>
              <th>Attach handle</th>
              <th>Type</th>
              <th>Address</th>
              <th>Held by ARQ</th>
              <th>Instance</th>
              <th>Project</th>
            </tr>
          </thead>
          <tbody>
            {node.attach_handles.map((h) => (
              <Handle key={h.uuid} handle={h} />
            ))}
          </tbody>
        </table>
      ) : null}
      {node.children.length > 0 ? (
        <ul class="tree">
          {node.children.map((c) => (
            <Deployable key={c.uuid} node={c} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

function Handle({ handle }: { handle: AttachHandle }) {
  return (
    <tr class={handle.in_use ? 'in-use' : ''}>
      <td>
        <Id value={handle.uuid} />
        {handle.draining ? <Badge value="draining" tone="warn" /> : null}
      </td>
      <td>{handle.type}</td>
      <td>
        <code>{address(handle.attach_info)}</code>
      </td>
      <td>
        {handle.arq_uuid ? (
          <a href={href('arqs', handle.arq_uuid)}>
            <Id value={handle.arq_uuid} />
          </a>
        ) : (
          <span class="muted">free</span>
        )}
        {handle.arq_state ? <Badge value={handle.arq_state} /> : null}
      </td>
      <td>
        <Id value={handle.instance_uuid} />
      </td>
      <td>{handle.project_id ?? '–'}</td>
    </tr>
  );
}

/** A PCI handle's `{"domain","bus","device","function"}` as `0000:3b:00.0`; others as given. */
function address(info: string): string {
  try {
    const v = JSON.parse(info) as Record<string, string>;
    if (v.bus !== undefined) return `${v.domain ?? '0000'}:${v.bus}:${v.device}.${v.function}`;
    return Object.values(v).join(' ');
  } catch {
    return info;
  }
}
