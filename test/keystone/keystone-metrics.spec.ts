import { randomBytes, randomUUID } from 'node:crypto';
import type { RunningService } from '@cyborg/config';
import { startApi } from '../../apps/api/src/start';
import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../support/keystone';
import { quietLogger } from '../support/logger';
import { TestSystem } from '../support/system';
import { keystoneSettings } from './support';

/**
 * The API's `/metrics` under AUTH_STRATEGY=keystone against a real
 * Keystone: refused by default (the metrics name hosts and rates), served
 * to a scraper presenting METRICS_TOKEN as a bearer token, and to anyone
 * only when METRICS_OPEN says so. The probes stay open throughout.
 */
const METRICS_TOKEN = randomBytes(24).toString('hex');
let keystone: TestKeystone;
let system: TestSystem;
const apis: RunningService[] = [];

/** A further API on the same servers, with its own metrics settings. */
async function apiWith(settings: Record<string, string>): Promise<string> {
  const api = await startApi(system.settings(settings), quietLogger);
  apis.push(api);
  return api.url;
}

const get = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, signal: AbortSignal.timeout(10_000) });

beforeAll(async () => {
  keystone = await TestKeystone.shared();
  system = await TestSystem.start({
    name: 'keystone-metrics',
    hostname: `ksm-${randomUUID().slice(0, 6)}`,
    settings: keystoneSettings(keystone),
    agentSettings: { AGENT_DRIVERS: 'fake' },
  });
}, KEYSTONE_START_TIMEOUT_MS);

afterAll(async () => {
  for (const api of apis) await api.close();
  await system?.close();
  await keystone?.stop();
});

it('refuses /metrics by default, even to a Keystone admin, and names the setting that opens it', async () => {
  for (const headers of [{}, { 'X-Auth-Token': await keystone.token('admin') }] as Record<string, string>[]) {
    const answer = await get(`${system.apiUrl}/metrics`, headers);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    const body = (await answer.json()) as { error_message: string };
    expect(JSON.parse(body.error_message).faultstring).toMatch(/METRICS_TOKEN.*Authorization: Bearer.*METRICS_OPEN/);
  }
  expect((await get(`${system.apiUrl}/healthz`)).status).toBe(200);
});

it('serves /metrics to the bearer of METRICS_TOKEN only', async () => {
  const api = await apiWith({ METRICS_TOKEN });
  for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}x`, METRICS_TOKEN, `Basic ${METRICS_TOKEN}`]) {
    const answer = await get(`${api}/metrics`, authorization ? { authorization } : {});
    expect(answer.status).toBe(401);
    await answer.text();
  }
  const scraped = await get(`${api}/metrics`, { authorization: `Bearer ${METRICS_TOKEN}` });
  expect(scraped.status).toBe(200);
  expect(scraped.headers.get('content-type')).toContain('text/plain');
  expect(await scraped.text()).toMatch(/^cyborg_http_requests_total\{/m);
});

it('serves /metrics to anyone with METRICS_OPEN=true', async () => {
  const api = await apiWith({ METRICS_OPEN: 'true' });
  const answer = await get(`${api}/metrics`);
  expect(answer.status).toBe(200);
  expect(await answer.text()).toContain('process_start_time_seconds');
});
