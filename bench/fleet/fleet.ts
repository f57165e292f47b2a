import { type ChildProcess, fork } from 'node:child_process';
import type { FleetHostOptions, FleetStats } from './fleet-hosts';
import type { FleetRequest } from './fleet-worker';

const WORKER = new URL('./fleet-worker.js', import.meta.url);

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** One worker process of the fleet, and its IPC requests. */
class FleetWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  readonly hostnames: string[] = [];

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: { id?: number; result?: unknown; error?: string }) => {
      const waiting = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id!);
      if (message.error !== undefined) waiting.reject(new Error(message.error));
      else waiting.resolve(message.result);
    });
    child.once('exit', (code) => {
      for (const waiting of this.pending.values()) waiting.reject(new Error(`fleet worker exited (${code})`));
      this.pending.clear();
    });
  }

  static async start(env: Record<string, string>): Promise<FleetWorker> {
    const child = fork(WORKER, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker = new FleetWorker(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`fleet worker exited (${code}) before it was ready`)));
    });
    return worker;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  call<T>(request: WithoutId<FleetRequest>): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ ...request, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await Promise.race([this.call({ type: 'stop' }).catch(() => undefined), sleep(5000)]);
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * A fleet of simulated hosts spread over `workers` processes (each a
 * FleetHosts on its own NATS connection), so the simulator's own CPU is
 * spread too. Hosts are dealt to workers in turn.
 */
export class Fleet {
  private next = 0;

  private constructor(private readonly workers: FleetWorker[]) {}

  static async start(natsUrl: string, workers: number, options: FleetHostOptions): Promise<Fleet> {
    const env = { NATS_URL: natsUrl, FLEET_OPTIONS: JSON.stringify(options) };
    return new Fleet(await Promise.all(Array.from({ length: workers }, () => FleetWorker.start(env))));
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  /** Registers and first-reports these hosts (all workers at once); each host's ms to its report's answer, sorted. */
  async add(hostnames: string[]): Promise<number[]> {
    const shares = this.workers.map(() => [] as string[]);
    for (const hostname of hostnames) shares[this.next++ % this.workers.length].push(hostname);
    const times = await Promise.all(
      this.workers.map((worker, i) => {
        worker.hostnames.push(...shares[i]);
        return shares[i].length ? worker.call<number[]>({ type: 'add', hostnames: shares[i] }) : [];
      }),
    );
    return times.flat().sort((a, b) => a - b);
  }

  /** Stops one host's heartbeats and reports; when the conductors last answered its heartbeat (ms since the epoch). */
  silence(hostname: string): Promise<number | null> {
    const worker = this.workers.find((w) => w.hostnames.includes(hostname));
    if (!worker) throw new Error(`no simulated host ${hostname}`);
    return worker.call<number | null>({ type: 'silence', hostname });
  }

  /** Every worker's counters together. */
  async stats(reset = false): Promise<FleetStats> {
    const all = await Promise.all(this.workers.map((w) => w.call<FleetStats>({ type: 'stats', reset })));
    return {
      hosts: sum(all.map((s) => s.hosts)),
      heartbeats: sum(all.map((s) => s.heartbeats)),
      heartbeatFailures: sum(all.map((s) => s.heartbeatFailures)),
      reports: sum(all.map((s) => s.reports)),
      reportFailures: sum(all.map((s) => s.reportFailures)),
      heartbeatMs: all.flatMap((s) => s.heartbeatMs).sort((a, b) => a - b),
      firstFailure: all.find((s) => s.firstFailure)?.firstFailure ?? null,
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
