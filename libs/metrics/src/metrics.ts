import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Latencies from a millisecond to a minute: HTTP requests, commands, Placement calls. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** A bind waits for an agent (programming a bitstream can take minutes). */
const BIND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Discovery reads sysfs and runs tools. */
const DISCOVERY_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Something a scrape asks for a current value: lag, hosts up and down. */
export type ScrapeSource = () => Promise<void>;

/**
 * Every metric of the project, on one registry. One instance per process
 * (`processMetrics()`): in `npm start` every service records into it and the
 * API's `/metrics` serves all of it.
 */
export class CyborgMetrics {
  readonly registry = new Registry();
  private readonly scrapeSources = new Set<ScrapeSource>();

  readonly httpRequests = new Counter({
    name: 'cyborg_http_requests_total',
    help: 'HTTP requests answered by the API, by route template, method and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpRequestDuration = new Histogram({
    name: 'cyborg_http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to finishing its answer',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly commands = new Counter({
    name: 'cyborg_commands_total',
    help: 'Commands the conductor handled, by command and outcome (ok or the error code answered)',
    labelNames: ['command', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly commandDuration = new Histogram({
    name: 'cyborg_command_duration_seconds',
    help: 'Time the conductor took to answer a command',
    labelNames: ['command', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly binds = new Counter({
    name: 'cyborg_binds_total',
    help: 'Binds ended, by outcome (bound, failed) and reason (none when bound)',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  readonly bindDuration = new Histogram({
    name: 'cyborg_bind_duration_seconds',
    help: 'Time from an ARQ bind starting (BindStarted) to its end (Bound or BindFailed)',
    labelNames: ['outcome'] as const,
    buckets: BIND_BUCKETS,
    registers: [this.registry],
  });

  readonly eventsAppended = new Counter({
    name: 'cyborg_events_appended_total',
    help: 'Events appended to the log by this process, by event type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly processorLagEvents = new Gauge({
    name: 'cyborg_log_processor_lag_events',
    help: 'Committed events a log processor (a projection, the JetStream relay, Nova notifications) has not handled yet',
    labelNames: ['processor'] as const,
    registers: [this.registry],
  });

  readonly processorLagSeconds = new Gauge({
    name: 'cyborg_log_processor_lag_seconds',
    help: 'Age of the oldest committed event a log processor has not handled yet; 0 when caught up',
    labelNames: ['processor'] as const,
    registers: [this.registry],
  });

  readonly placementRequests = new Counter({
    name: 'cyborg_placement_requests_total',
    help: 'Calls to OpenStack Placement, by kind (method and path template) and status code (0: unreachable)',
    labelNames: ['kind', 'status'] as const,
    registers: [this.registry],
  });

  readonly placementRequestDuration = new Histogram({
    name: 'cyborg_placement_request_duration_seconds',
    help: 'Time a call to OpenStack Placement took',
    labelNames: ['kind'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly placementConflictsRetried = new Counter({
    name: 'cyborg_placement_conflicts_retried_total',
    help: 'Resource provider generation conflicts met by Placement writes and retried after a re-read',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly novaNotifications = new Counter({
    name: 'cyborg_nova_notifications_total',
    help: 'accelerator-request-bound events for Nova, by outcome (delivered, retried, refused)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly natsRequestErrors = new Counter({
    name: 'cyborg_nats_request_errors_total',
    help: 'NATS requests of this process that failed, by subject and error code (timeouts included)',
    labelNames: ['subject', 'code'] as const,
    registers: [this.registry],
  });

  readonly natsRequestTimeouts = new Counter({
    name: 'cyborg_nats_request_timeouts_total',
    help: 'NATS requests of this process that got no reply in time, by subject',
    labelNames: ['subject'] as const,
    registers: [this.registry],
  });

  readonly discoveryDuration = new Histogram({
    name: 'cyborg_agent_discovery_duration_seconds',
    help: "Time an agent took to discover its host's devices through every driver",
    labelNames: ['hostname'] as const,
    buckets: DISCOVERY_BUCKETS,
    registers: [this.registry],
  });

  readonly agentDevices = new Gauge({
    name: 'cyborg_agent_devices',
    help: "Devices in an agent's last report, by type and health (warning: a driver warned about it or failed, so its last known state was reported)",
    labelNames: ['hostname', 'type', 'health'] as const,
    registers: [this.registry],
  });

  readonly devices = new Gauge({
    name: 'cyborg_devices',
    help: 'Devices known to the API, by type and state (enabled, maintaining, draining: removed but still holding an ARQ)',
    labelNames: ['type', 'state'] as const,
    registers: [this.registry],
  });

  readonly hosts = new Gauge({
    name: 'cyborg_hosts',
    help: 'Hosts whose agent ever sent a heartbeat, by state (up, or down: unheard for HOST_DOWN_AFTER_MS)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Adds a source asked for current values before each scrape; returns its removal. */
  onScrape(source: ScrapeSource): () => void {
    this.scrapeSources.add(source);
    return () => this.scrapeSources.delete(source);
  }

  /** The registry in Prometheus text format, after refreshing what is read at scrape time. */
  async scrape(): Promise<string> {
    // A source that cannot answer (PostgreSQL away) leaves its gauges as last read.
    await Promise.allSettled([...this.scrapeSources].map((source) => source()));
    return this.registry.metrics();
  }

  /** The same, as prom-client's JSON (what `AggregatorRegistry.aggregate` sums across processes). */
  async scrapeJson(): Promise<Awaited<ReturnType<Registry['getMetricsAsJSON']>>> {
    await Promise.allSettled([...this.scrapeSources].map((source) => source()));
    return this.registry.getMetricsAsJSON();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

let current: CyborgMetrics | null = null;

/** The process's one set of metrics. */
export function processMetrics(): CyborgMetrics {
  current ??= new CyborgMetrics();
  return current;
}

/** Seconds since a `performance.now()` reading. */
export function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
