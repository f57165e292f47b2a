import { remoteBindMetrics } from './bind-metrics';
import { apiMetricsAccess, opsExposureWarning, opsMetricsAccess } from './metrics-access';
import { CyborgMetrics } from './metrics';
import { serveOps } from './ops-server';

/** Who may read the metrics: a service's own port (a real HTTP server) with and without METRICS_TOKEN. */
const TOKEN = 'metrics-token-0123456789abcdef';

it('asks the bearer token on a service port given METRICS_TOKEN, and leaves its probes open', async () => {
  const metrics = new CyborgMetrics();
  metrics.binds.inc({ outcome: 'bound', reason: 'none' });
  const ops = await serveOps({
    service: 'conductor',
    host: '127.0.0.1',
    port: 0,
    metrics,
    access: opsMetricsAccess(TOKEN),
  });
  try {
    for (const path of ['/metrics', '/metrics/json']) {
      for (const authorization of [undefined, 'Bearer wrong', TOKEN]) {
        const answer = await fetch(`${ops.url}${path}`, { headers: authorization ? { authorization } : {} });
        expect(answer.status).toBe(401);
        expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
        expect(((await answer.json()) as { error_message: string }).error_message).toMatch(/METRICS_TOKEN/);
      }
    }
    const scraped = await fetch(`${ops.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('cyborg_binds_total{outcome="bound",reason="none"} 1');
    expect((await fetch(`${ops.url}/healthz/live`)).status).toBe(200);
    // The API reading a conductor's bind metrics sends the same token.
    await expect(remoteBindMetrics(ops.url, 2000)).rejects.toThrow(/answered 401/);
    const json = await remoteBindMetrics(ops.url, 2000, TOKEN);
    expect(json.find((m) => m.name === 'cyborg_binds_total')?.values[0]?.value).toBe(1);
  } finally {
    await ops.close();
  }
});

it('leaves a service port open without METRICS_TOKEN (it listens on loopback by default)', async () => {
  const ops = await serveOps({
    service: 'agent',
    host: '127.0.0.1',
    port: 0,
    metrics: new CyborgMetrics(),
    access: opsMetricsAccess(''),
  });
  try {
    expect((await fetch(`${ops.url}/metrics`)).status).toBe(200);
  } finally {
    await ops.close();
  }
});

it("closes the API's /metrics under keystone unless a token is set or METRICS_OPEN says so", () => {
  expect(apiMetricsAccess({ AUTH_STRATEGY: 'keystone', METRICS_TOKEN: '', METRICS_OPEN: false })).toEqual({
    refused: expect.stringMatching(/METRICS_TOKEN/),
  });
  expect(apiMetricsAccess({ AUTH_STRATEGY: 'keystone', METRICS_TOKEN: TOKEN, METRICS_OPEN: true })).toEqual({
    token: TOKEN,
  });
  expect(apiMetricsAccess({ AUTH_STRATEGY: 'keystone', METRICS_TOKEN: '', METRICS_OPEN: true })).toEqual({
    open: true,
  });
  expect(apiMetricsAccess({ AUTH_STRATEGY: 'noauth', METRICS_TOKEN: '', METRICS_OPEN: false })).toEqual({ open: true });
});

it('says loudly at start when a service port leaves loopback without a token', () => {
  expect(opsExposureWarning('conductor', '0.0.0.0', '')).toMatch(
    /^CONDUCTOR METRICS PORT ON 0\.0\.0\.0 WITHOUT METRICS_TOKEN/,
  );
  expect(opsExposureWarning('conductor', '0.0.0.0', TOKEN)).toBeNull();
  expect(opsExposureWarning('agent', '127.0.0.1', '')).toBeNull();
});
