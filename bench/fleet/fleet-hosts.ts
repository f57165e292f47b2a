import {
  type CommandReply,
  heartbeatMessage,
  type HeartbeatResult,
  type InventorySnapshot,
  registerHostMessage,
  type RegisterHostResult,
  reportInventoryMessage,
  type ReportInventoryResult,
} from '@cyborg/contracts';
import { inventorySnapshot, SimulatedDriver } from '@cyborg/drivers';
import type { RpcClient } from '@cyborg/messaging';

/** How the simulated hosts behave: apps/agent's timers, at the settings an operator would give it. */
export interface FleetHostOptions {
  /** AGENT_HEARTBEAT_INTERVAL_MS. */
  heartbeatMs: number;
  /** AGENT_REPORT_INTERVAL_MS: an unchanged full report each time. */
  reportMs: number;
  /** The simulated driver's host file every host reports (libs/drivers' YAML). */
  hostFile: string;
  /** Registrations in flight at once; the hosts of a rack booting together. */
  concurrency: number;
  /** Budget of one request; the agent's default is 5 s. */
  timeoutMs?: number;
}

/** What the hosts of a group did since the counters were last reset. */
export interface FleetStats {
  hosts: number;
  heartbeats: number;
  heartbeatFailures: number;
  reports: number;
  reportFailures: number;
  /** Milliseconds from sending a heartbeat to its answer, sorted. */
  heartbeatMs: number[];
  /** The first failure's message, if any. */
  firstFailure: string | null;
}

const AGENT_VERSION = 'bench-fleet';
const DRIVERS = ['simulated'];

/**
 * One simulated host: the messages of apps/agent (libs/contracts' builders,
 * the simulated driver's snapshot) on its host's subjects, on the agent's
 * timers, over a connection it shares with the other hosts of its group.
 */
export class FleetHost {
  private generation = Date.now() * 1000;
  private snapshot: InventorySnapshot | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** When the conductors last answered a heartbeat (ms since the epoch). */
  lastHeartbeatAt: number | null = null;
  silenced = false;

  constructor(
    readonly hostname: string,
    private readonly group: FleetHosts,
  ) {}

  /** register_host, then the first full report, as an agent does at start. */
  async register(): Promise<void> {
    const { rpc, options } = this.group;
    const registration = registerHostMessage(this.hostname, DRIVERS, AGENT_VERSION);
    await rpc.request<RegisterHostResult>(registration.subject, registration.command, { timeoutMs: options.timeoutMs });
    const { devices, warnings } = await new SimulatedDriver({
      hostname: this.hostname,
      file: options.hostFile,
    }).discover();
    if (warnings.length > 0) throw new Error(`${options.hostFile}: ${warnings.map((w) => w.message).join('; ')}`);
    this.snapshot = inventorySnapshot({ hostname: this.hostname, devices });
    const result = await this.report();
    if (!result.changed) throw new Error(`the first report of ${this.hostname} changed nothing`);
  }

  /** Heartbeats and reports from now on, the first of each at a random point of its interval (hosts booted apart). */
  startTimers(): void {
    const { heartbeatMs, reportMs } = this.group.options;
    this.every(heartbeatMs, () => this.heartbeat());
    this.every(reportMs, async () => {
      try {
        await this.report();
        this.group.counters.reports++;
      } catch (error) {
        this.group.failed('report', this.hostname, error);
      }
    });
  }

  /** The agent is gone: no more heartbeats or reports. */
  silence(): void {
    this.silenced = true;
    this.stop();
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
  }

  private async heartbeat(): Promise<void> {
    const { subject, command } = heartbeatMessage(this.hostname);
    const sent = performance.now();
    try {
      await this.group.rpc.request<HeartbeatResult>(subject, command, { timeoutMs: this.group.options.timeoutMs });
      if (this.silenced) return;
      this.lastHeartbeatAt = Date.now();
      this.group.counters.heartbeats++;
      this.group.counters.heartbeatMs.push(performance.now() - sent);
    } catch (error) {
      this.group.failed('heartbeat', this.hostname, error);
    }
  }

  private async report(): Promise<ReportInventoryResult> {
    if (!this.snapshot) throw new Error(`${this.hostname} is not registered`);
    const { subject, command } = reportInventoryMessage(this.snapshot, this.generation++);
    const reply = await this.group.rpc.request<CommandReply<ReportInventoryResult>>(subject, command, {
      timeoutMs: this.group.options.timeoutMs,
    });
    return reply.result;
  }

  private every(intervalMs: number, tick: () => Promise<void>): void {
    const first = setTimeout(() => {
      void tick();
      const timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
      this.timers.push(timer);
    }, Math.random() * intervalMs);
    first.unref();
    this.timers.push(first);
  }
}

/**
 * Many simulated hosts in one process, sharing one NATS connection: what a
 * fleet worker runs, and what the simulator's test drives in-process.
 */
export class FleetHosts {
  readonly hosts = new Map<string, FleetHost>();
  counters = emptyCounters();

  constructor(
    readonly rpc: RpcClient,
    readonly options: FleetHostOptions,
  ) {}

  /**
   * Registers and first-reports these hosts, `concurrency` at a time, then
   * starts their timers. Returns each host's milliseconds from the start to
   * its report's answer; a host that fails is retried after a pause.
   */
  async add(hostnames: string[]): Promise<number[]> {
    const started = performance.now();
    const done: number[] = [];
    let next = 0;
    const registerOne = async (hostname: string) => {
      const host = new FleetHost(hostname, this);
      for (let attempt = 1; ; attempt++) {
        try {
          await host.register();
          break;
        } catch (error) {
          if (attempt >= 5) throw error;
          this.failed('registration', hostname, error);
          await new Promise((resolve) => setTimeout(resolve, 250 * 2 ** attempt));
        }
      }
      done.push(performance.now() - started);
      this.hosts.set(hostname, host);
      host.startTimers();
    };
    await Promise.all(
      Array.from({ length: Math.min(this.options.concurrency, hostnames.length) }, async () => {
        while (next < hostnames.length) await registerOne(hostnames[next++]);
      }),
    );
    return done.sort((a, b) => a - b);
  }

  /** Stops one host's agent; returns when the conductors last heard it. */
  silence(hostname: string): number | null {
    const host = this.hosts.get(hostname);
    if (!host) throw new Error(`no simulated host ${hostname}`);
    host.silence();
    return host.lastHeartbeatAt;
  }

  /** The counters since the last reset; `reset` starts new ones. */
  stats(reset = false): FleetStats {
    const stats = { ...this.counters, hosts: this.hosts.size, heartbeatMs: [...this.counters.heartbeatMs] };
    stats.heartbeatMs.sort((a, b) => a - b);
    if (reset) this.counters = emptyCounters();
    return stats;
  }

  stop(): void {
    for (const host of this.hosts.values()) host.stop();
  }

  failed(what: string, hostname: string, error: unknown): void {
    if (what === 'heartbeat') this.counters.heartbeatFailures++;
    else this.counters.reportFailures++;
    this.counters.firstFailure ??= `${what} of ${hostname}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function emptyCounters(): Omit<FleetStats, 'hosts'> {
  return { heartbeats: 0, heartbeatFailures: 0, reports: 0, reportFailures: 0, heartbeatMs: [], firstFailure: null };
}
