import { createServer, type Server } from 'node:http';
import type { CyborgMetrics } from './metrics';
import { type MetricsAccess, metricsRefusal, METRICS_WWW_AUTHENTICATE } from './metrics-access';

/** One dependency's answer to a readiness probe. */
export interface DependencyCheck {
  ok: boolean;
  latency_ms?: number;
  error?: string;
}

/** A service's readiness: every dependency it needs, by name. */
export type ReadinessCheck = () => Promise<Record<string, DependencyCheck>>;

export interface OpsServerOptions {
  /** The service named in answers and logs. */
  service: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  metrics: CyborgMetrics;
  /** None: ready whenever the process answers. */
  ready?: ReadinessCheck;
  /** Who may read `/metrics` and `/metrics/json` (the probes stay open); none: anyone. */
  access?: MetricsAccess;
}

export interface RunningOpsServer {
  name: string;
  url: string;
  close(): Promise<void>;
}

const PROBE_TIMEOUT_MS = 1000;

/** Runs a probe with a time limit, as a check: never throws. */
export async function probe(run: () => Promise<unknown>, what: string): Promise<DependencyCheck> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} did not answer within ${PROBE_TIMEOUT_MS} ms`)),
          PROBE_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latency_ms: Math.round((performance.now() - start) * 100) / 100 };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The small HTTP port of a service without an API of its own (conductor,
 * agent, placement-sync): `/metrics` for Prometheus (`/metrics/json`: the
 * same as prom-client's JSON, which the API sums for the console), `/healthz/live` (the
 * process answers) and `/healthz/ready` (200 when every dependency answers,
 * else 503). Open unless given METRICS_TOKEN, so it listens on loopback unless told otherwise.
 */
export async function serveOps(options: OpsServerOptions): Promise<RunningOpsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    const json = (status: number, body: unknown) => send(status, 'application/json', JSON.stringify(body));
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      json(405, { error_message: `${request.method} is not allowed here; use GET` });
      return;
    }
    if (path === '/metrics' || path === '/metrics/json') {
      const refusal = metricsRefusal(options.access ?? { open: true }, request.headers.authorization);
      if (refusal) {
        response.setHeader('www-authenticate', METRICS_WWW_AUTHENTICATE);
        json(401, { error_message: refusal });
        return;
      }
    }
    if (path === '/metrics') {
      options.metrics.scrape().then(
        (text) => send(200, options.metrics.contentType, text),
        (error: unknown) => json(500, { error_message: `metrics could not be collected: ${String(error)}` }),
      );
      return;
    }
    if (path === '/metrics/json') {
      options.metrics.scrapeJson().then(
        (metrics) => json(200, metrics),
        (error: unknown) => json(500, { error_message: `metrics could not be collected: ${String(error)}` }),
      );
      return;
    }
    if (path === '/healthz/live') {
      json(200, { status: 'ok', service: options.service });
      return;
    }
    if (path === '/healthz/ready' || path === '/healthz') {
      (options.ready ?? (async () => ({})))().then(
        (checks: Record<string, DependencyCheck>) => {
          const ok = Object.values(checks).every((c) => c.ok);
          json(ok ? 200 : 503, { status: ok ? 'ok' : 'degraded', service: options.service, checks });
        },
        (error: unknown) => json(503, { status: 'degraded', service: options.service, error: String(error) }),
      );
      return;
    }
    json(404, { error_message: `nothing at ${path}: try /metrics, /metrics/json, /healthz/live or /healthz/ready` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':')
    ? `[${options.host}]`
    : options.host === '0.0.0.0'
      ? '127.0.0.1'
      : options.host;
  return {
    name: `${options.service}:ops`,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
