import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports';

/**
 * A nats-server with JetStream of the run's own, on a free port: the
 * services' subjects and the CYBORG_EVENTS stream are then the run's alone,
 * whatever else uses the machine's NATS.
 */
export class BenchNatsServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly storeDir: string,
    /** The HTTP monitoring port (`/varz`), when asked for. */
    readonly monitorPort: number | null = null,
  ) {}

  /** `monitor`: also serve nats-server's HTTP monitoring endpoints (message counts in `/varz`). */
  static async start(options: { monitor?: boolean } = {}): Promise<BenchNatsServer> {
    const port = await freePort();
    const monitorPort = options.monitor ? await freePort() : null;
    const storeDir = await mkdtemp(join(tmpdir(), 'cyborg-bench-nats-'));
    const child = spawn(
      process.env.NATS_SERVER_BIN ?? 'nats-server',
      [
        ...['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
        ...(monitorPort === null ? [] : ['-m', String(monitorPort)]),
      ],
      { stdio: 'ignore' },
    );
    const server = new BenchNatsServer(child, port, storeDir, monitorPort);
    try {
      await Promise.race([
        waitForPort(port, 10_000, 'nats-server'),
        new Promise((_, reject) => child.once('error', reject)),
      ]);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Messages the server received from and sent to clients so far (`/varz`). */
  async messages(): Promise<{ in: number; out: number }> {
    if (this.monitorPort === null) throw new Error('nats-server started without monitoring');
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/varz`);
    const varz = (await response.json()) as { in_msgs: number; out_msgs: number };
    return { in: varz.in_msgs, out: varz.out_msgs };
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise<void>((resolve) => {
        this.child.once('exit', () => resolve());
        this.child.kill('SIGTERM');
      });
    }
    await rm(this.storeDir, { recursive: true, force: true });
  }
}
