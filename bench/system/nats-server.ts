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
  ) {}

  static async start(): Promise<BenchNatsServer> {
    const port = await freePort();
    const storeDir = await mkdtemp(join(tmpdir(), 'cyborg-bench-nats-'));
    const child = spawn(
      process.env.NATS_SERVER_BIN ?? 'nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir],
      { stdio: 'ignore' },
    );
    const server = new BenchNatsServer(child, port, storeDir);
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
