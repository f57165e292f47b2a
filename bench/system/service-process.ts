import { type ChildProcess, fork } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ProcessUsage } from './usage';

const PROBE = new URL('./usage-probe.js', import.meta.url);

export interface ServiceProcessOptions {
  /** How the bench names it in figures: `conductor`, `api`, `agent`, … */
  name: string;
  /** The compiled entry point, e.g. dist/apps/conductor/main.js. */
  main: URL;
  env: Record<string, string>;
  /** A JSON log line with this `msg` means the service is up. */
  readyMessage: string;
  readyTimeoutMs?: number;
  /** Extra node flags, e.g. --cpu-prof. */
  execArgv?: string[];
}

/**
 * A service as operators run it: its own Node process from dist/apps, with
 * the bench's usage probe loaded, so memory and CPU are the service's alone.
 */
export class ServiceProcess {
  /** The last log lines, shown when it fails. */
  private readonly tail: string[] = [];
  private exited: Promise<number | null>;
  private readonly readyLine: Promise<Record<string, unknown>>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    readyMessage: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.readyLine = new Promise((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 20) this.tail.shift();
        if (!line.includes(readyMessage)) return;
        try {
          // The services' JSON logger nests the fields they log under `message`.
          const parsed = JSON.parse(line) as { msg?: unknown; message?: unknown };
          const fields = (typeof parsed.message === 'object' ? parsed.message : parsed) as Record<string, unknown>;
          if (fields?.msg === readyMessage) resolve(fields);
        } catch {
          // not a JSON line
        }
      });
      createInterface({ input: child.stderr! }).on('line', (line) => {
        this.tail.push(line);
        if (this.tail.length > 20) this.tail.shift();
      });
      void this.exited.then((code) =>
        reject(new Error(`${name} exited (${code}) before it was ready:\n${this.log()}`)),
      );
    });
    // Nobody may be waiting on it after start: an exit then is reported by usage() and stop().
    this.readyLine.catch(() => undefined);
  }

  static async start(options: ServiceProcessOptions): Promise<ServiceProcess> {
    const child = fork(options.main, [], {
      env: { ...process.env, LOG_FORMAT: 'json', ...options.env },
      execArgv: ['--import', PROBE.href, '--expose-gc', ...(options.execArgv ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const service = new ServiceProcess(options.name, child, options.readyMessage);
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        service.readyLine,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${options.name} not ready within ${timeoutMs} ms:\n${service.log()}`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      await service.stop();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return service;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The fields of the line that said it is ready (the API's says its url). */
  ready(): Promise<Record<string, unknown>> {
    return this.readyLine;
  }

  log(): string {
    return this.tail.map((l) => `    ${this.name}| ${l}`).join('\n');
  }

  /** Memory and CPU so far; `afterGc` runs a full collection first (memory at rest). */
  usage(afterGc = false): Promise<ProcessUsage> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) {
        reject(new Error(`${this.name} is not running:\n${this.log()}`));
        return;
      }
      const onMessage = (message: unknown) => {
        const usage = (message as { usage?: ProcessUsage }).usage;
        if (!usage) return;
        this.child.off('message', onMessage);
        resolve(usage);
      };
      this.child.on('message', onMessage);
      this.child.send(afterGc ? 'usage-after-gc' : 'usage');
    });
  }

  /** SIGTERM (the service closes itself), SIGKILL if it has not gone after a few seconds. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const gone = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000).unref()),
    ]);
    if (!gone) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
