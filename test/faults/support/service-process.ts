import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const ROOT = new URL('../../../', import.meta.url).pathname;

export interface LogLine {
  service: string;
  stream: 'stdout' | 'stderr';
  line: string;
  at: number;
}

/** Every line every service printed, in arrival order, also appended to a file for reading after a failure. */
export class LogBook {
  readonly lines: LogLine[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly file: string) {}

  add(entry: LogLine): void {
    this.lines.push(entry);
    appendFileSync(this.file, `${entry.service} ${entry.stream}: ${entry.line}\n`);
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves with the first line of `service` from index `from` on that matches. */
  async waitFor(service: string, pattern: RegExp, from: number, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find((l) => l.service === service && pattern.test(l.line));
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${service} did not log ${pattern} within ${timeoutMs} ms (log: ${this.file})`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 200));
        this.waiters.add(done);
      });
    }
  }

  of(service: string): LogLine[] {
    return this.lines.filter((l) => l.service === service);
  }
}

/**
 * One service as it runs in production: `node dist/apps/<app>/main.js` in a
 * process of its own, configured by its environment alone. It can be killed
 * (-9 or TERM) and started again with the same environment.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  /** How many times it was started. */
  starts = 0;

  constructor(
    readonly name: string,
    readonly app: string,
    readonly env: Record<string, string>,
    private readonly logs: LogBook,
  ) {}

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once it logged `ready` (its own "listening" line). */
  async start(ready: RegExp, timeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running`);
    const from = this.logs.lines.length;
    const child = spawn(process.execPath, [`dist/apps/${this.app}/main.js`], {
      cwd: ROOT,
      // Only what a deployment would set: no test runner's environment leaks in.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.starts++;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream]! }).on('line', (line) =>
        this.logs.add({ service: this.name, stream, line, at: Date.now() }),
      );
    }
    const failed = this.exited.then((code) => {
      throw new Error(`${this.name} exited with ${code} while starting (log: ${this.logs.file})`);
    });
    await Promise.race([this.logs.waitFor(this.name, ready, from, timeoutMs), failed]);
    failed.catch(() => undefined);
  }

  /** SIGSTOP: the process stays, its connections open, but it does nothing until resume(). */
  pause(): void {
    if (this.running) this.child!.kill('SIGSTOP');
  }

  resume(): void {
    if (this.running) this.child!.kill('SIGCONT');
  }

  /** kill -9, or a graceful TERM; resolves once the process is gone. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill(signal);
    await this.exited;
  }
}
