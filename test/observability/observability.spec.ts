import { randomUUID } from 'node:crypto';
import type { CyborgEvent } from '@cyborg/contracts';
import { processMetrics, type RunningOpsServer, serveOps } from '@cyborg/metrics';
import type { RecordedEvent } from '@cyborg/event-store';
import { startPlacementSync, type RunningPlacementSync } from '../../apps/placement-sync/src/start';
import { bindOps, eventually, http, novaFor, unique, userOf } from '../arqs/support';
import { TestSystem } from '../support/system';
import { LogCapture, parseMetrics, valueOf } from './support';

/**
 * What an operator sees of a running system: one request id through the
 * API's, the conductor's and the agent's log lines and onto the events, and
 * the metrics of every service on /metrics.
 */
const hostname = `observe-${randomUUID().slice(0, 6)}`;
const logs = new LogCapture();
let system: TestSystem;
let api: string;
const ops: RunningOpsServer[] = [];
let placementSync: RunningPlacementSync | null = null;

async function allEvents(): Promise<RecordedEvent<CyborgEvent>[]> {
  const { events } = await system.store.readAll({ limit: 10_000 });
  return events;
}

async function fakeRp(): Promise<string> {
  const { body } = await http<{ deployables: { rp_uuid: string }[] }>(
    api,
    'GET',
    `/v2/deployables?filters.field=name&filters.value=${hostname}_FakeDevice`,
  );
  return body.deployables[0].rp_uuid;
}

/** A profile, an ARQ of project-a, and that ARQ bound by "Nova" with `requestId`: until it is Bound. */
async function bindWithRequestId(requestId: string): Promise<{ arq: string; answer: Headers }> {
  const rp = await eventually(fakeRp);
  const name = unique('dp');
  expect(
    (await http(api, 'POST', '/v2/device_profiles', { json: [{ name, groups: [{ 'resources:FPGA': '1' }] }] })).status,
  ).toBe(201);
  const created = await http<{ arqs: { uuid: string }[] }>(api, 'POST', '/v2/accelerator_requests', {
    json: { device_profile_name: name },
    headers: userOf('project-a'),
  });
  const arq = created.body.arqs[0].uuid;
  const bound = await http(api, 'PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(hostname, rp, randomUUID()) },
    headers: { ...novaFor('project-a'), 'X-OpenStack-Request-ID': requestId },
  });
  expect(bound.status).toBe(202);
  await eventually(async () => {
    const { body } = await http<{ state: string }>(api, 'GET', `/v2/accelerator_requests/${arq}`);
    return body.state === 'Bound' ? true : undefined;
  });
  return { arq, answer: bound.headers };
}

beforeAll(async () => {
  system = await TestSystem.start({
    name: 'observe',
    hostname,
    logger: (service) => logs.logger(service),
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000', AGENT_HEARTBEAT_INTERVAL_MS: '200' },
  });
  api = system.apiUrl;
});

afterAll(async () => {
  for (const server of ops) await server.close();
  await placementSync?.close();
  await system?.close();
});

describe('one request id across the services', () => {
  it("takes the caller's X-OpenStack-Request-ID and finds it in the API's, conductor's and agent's lines and on the events", async () => {
    const requestId = `req-${randomUUID()}`;
    const { arq, answer } = await bindWithRequestId(requestId);
    expect(answer.get('x-openstack-request-id')).toBe(requestId);

    const lines = await eventually(async () => {
      const found = logs.withRequestId(requestId);
      return found.some((l) => l.service === 'agent') ? found : undefined;
    });
    const access = lines.find((l) => l.service === 'api' && l.route === '/v2/accelerator_requests');
    expect(access).toMatchObject({
      method: 'PATCH',
      status: 202,
      user_id: 'user-of-project-a',
      project_id: 'project-a',
      level: 'info',
    });
    expect(typeof access?.duration_ms).toBe('number');
    expect(lines).toContainEqual(
      expect.objectContaining({ service: 'conductor', subject: 'cyborg.conductor.bind_arqs', msg: 'answered' }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({ service: 'agent', subject: `cyborg.agent.${hostname.replace(/\./g, '_')}.bind` }),
    );

    // The bind's events, its start and its end, carry the id the audit filters on.
    const events = (await allEvents()).filter((e) => e.streamId === `arq-${arq}`);
    const byType = new Map(events.map((e) => [e.type, e.metadata.requestId]));
    expect(byType.get('ArqBindStarted')).toBe(requestId);
    expect(byType.get('ArqBound')).toBe(requestId);
    const audit = await http<{ events: { type: string }[] }>(api, 'GET', `/v2/events?request_id=${requestId}`);
    expect(audit.status).toBe(200);
    expect(audit.body.events.map((e) => e.type)).toEqual(expect.arrayContaining(['ArqBindStarted', 'ArqBound']));
  });

  it('gives a request whose id is not req-<uuid> a new one, and writes nothing of what it sent', async () => {
    const smuggled = 'req-1234\n{"level":"fatal","msg":"forged"}';
    const answer = await fetch(`${api}/v2/device_profiles`, {
      headers: { 'X-OpenStack-Request-ID': encodeURIComponent(smuggled) },
    });
    await answer.text();
    const id = answer.headers.get('x-openstack-request-id') ?? '';
    expect(id).toMatch(/^req-[0-9a-f-]{36}$/);
    const line = await eventually(async () => logs.withRequestId(id).find((l) => l.route === '/v2/device_profiles'));
    expect(line).toMatchObject({ method: 'GET', status: 200 });
    expect(JSON.stringify(logs.lines)).not.toContain('forged');
  });
});

describe('metrics', () => {
  it("serves every service's metrics on the API's /metrics, in Prometheus's names and units", async () => {
    await bindWithRequestId(`req-${randomUUID()}`);
    await http(api, 'GET', '/no/such/path');
    const answer = await fetch(`${api}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/plain');
    const samples = parseMetrics(await answer.text());

    expect(
      valueOf(samples, 'cyborg_http_requests_total', {
        method: 'PATCH',
        route: '/v2/accelerator_requests',
        status: '202',
      }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      valueOf(samples, 'cyborg_http_request_duration_seconds_count', { route: '/v2/accelerator_requests/:uuid' }),
    ).toBeGreaterThan(0);
    // Never the raw URL: an unknown path is one series.
    expect(valueOf(samples, 'cyborg_http_requests_total', { route: 'unmatched', status: '404' })).toBeGreaterThan(0);
    expect(samples.some((s) => s.labels.route?.includes(hostname) || s.labels.route?.startsWith('/no/'))).toBe(false);

    expect(valueOf(samples, 'cyborg_commands_total', { command: 'bind_arqs', outcome: 'ok' })).toBeGreaterThanOrEqual(
      2,
    );
    expect(valueOf(samples, 'cyborg_command_duration_seconds_count', { command: 'create_arqs' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'cyborg_binds_total', { outcome: 'bound', reason: 'none' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'cyborg_bind_duration_seconds_count', { outcome: 'bound' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'cyborg_events_appended_total', { type: 'ArqBound' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'cyborg_events_appended_total', { type: 'HostRegistered' })).toBe(1);

    const processors = samples
      .filter((s) => s.name === 'cyborg_log_processor_lag_events')
      .map((s) => s.labels.processor);
    // Nova notifications run only with NOVA_URL, which this system has not.
    expect(processors).toContain('relay:jetstream');
    expect(processors.some((p) => p.startsWith('projection:'))).toBe(true);
    expect(samples.filter((s) => s.name === 'cyborg_log_processor_lag_seconds').every((s) => s.value >= 0)).toBe(true);

    // Hosts count from heartbeats: the agent's first one may be on its way.
    const hosts = await eventually(async () => {
      const now = parseMetrics(await (await fetch(`${api}/metrics`)).text());
      return valueOf(now, 'cyborg_hosts', { state: 'up' }) === 1 ? now : undefined;
    });
    expect(valueOf(hosts, 'cyborg_hosts', { state: 'down' })).toBe(0);
    expect(valueOf(samples, 'cyborg_agent_discovery_duration_seconds_count', { hostname })).toBeGreaterThan(0);
    expect(valueOf(samples, 'cyborg_agent_devices', { hostname, health: 'ok' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'cyborg_devices', { state: 'enabled' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('counts a NATS request that nobody answers by subject', async () => {
    const subject = `cyborg.agent.nobody-${randomUUID().slice(0, 6)}.ping`;
    await expect(system.rpc.request(subject, {}, { timeoutMs: 300 })).rejects.toThrow();
    const samples = parseMetrics(await processMetrics().scrape());
    expect(valueOf(samples, 'cyborg_nats_request_errors_total', { subject })).toBe(1);
  });

  it("serves the conductor's and agent's metrics and health on their own port", async () => {
    const conductor = await serveOps({
      service: 'conductor',
      host: '127.0.0.1',
      port: 0,
      metrics: processMetrics(),
      ready: system.service('conductor').readiness,
    });
    ops.push(conductor);
    const agent = await serveOps({
      service: 'agent',
      host: '127.0.0.1',
      port: 0,
      metrics: processMetrics(),
      ready: system.service(`agent:${hostname}`).readiness,
    });
    ops.push(agent);

    const metrics = await fetch(`${conductor.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(valueOf(parseMetrics(await metrics.text()), 'cyborg_commands_total', { command: 'register_host' })).toBe(1);
    const live = await fetch(`${conductor.url}/healthz/live`);
    expect(live.status).toBe(200);
    const ready = await fetch(`${conductor.url}/healthz/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ok',
      service: 'conductor',
      checks: { postgres: { ok: true }, nats: { ok: true } },
    });
    const agentReady = await fetch(`${agent.url}/healthz/ready`);
    expect(agentReady.status).toBe(200);
    expect(await agentReady.json()).toMatchObject({ checks: { nats: { ok: true } } });
    expect((await fetch(`${agent.url}/nothing`)).status).toBe(404);
    expect((await fetch(`${agent.url}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('says placement-sync is not ready while Placement is away, and counts its unreachable calls', async () => {
    placementSync = await startPlacementSync(
      system.settings({ PLACEMENT_URL: 'http://127.0.0.1:9', PLACEMENT_RETRY_MAX_MS: '200' }),
      logs.logger('placement-sync'),
    );
    await placementSync.ready();
    const server = await serveOps({
      service: 'placement-sync',
      host: '127.0.0.1',
      port: 0,
      metrics: processMetrics(),
      ready: placementSync.readiness,
    });
    ops.push(server);
    const ready = await fetch(`${server.url}/healthz/ready`);
    expect(ready.status).toBe(503);
    const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(body.status).toBe('degraded');
    expect(body.checks).toMatchObject({ postgres: { ok: true }, nats: { ok: true }, placement: { ok: false } });

    const unreachable = await eventually(async () => {
      const samples = parseMetrics(await (await fetch(`${server.url}/metrics`)).text());
      const n = valueOf(samples, 'cyborg_placement_requests_total', { status: '0' });
      return n > 0 ? samples : undefined;
    });
    const kinds = unreachable.filter((s) => s.name === 'cyborg_placement_requests_total').map((s) => s.labels.kind);
    expect(kinds.every((k) => /^(GET|POST|PUT|DELETE) \/[\w/{}]*$/.test(k))).toBe(true);
  });
});
