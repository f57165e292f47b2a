import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports';

/** The documented production setup: per-service and per-host users with subject permissions. */
export const DEPLOY_NATS_CONFIG = new URL('../../../deploy/nats/nats-server.conf', import.meta.url).pathname;

/** The users of deploy/nats/nats-server.conf and the variable holding each one's password. */
export const NATS_USERS = {
  conductor: 'CYBORG_NATS_CONDUCTOR_PASSWORD',
  api: 'CYBORG_NATS_API_PASSWORD',
  'placement-sync': 'CYBORG_NATS_PLACEMENT_SYNC_PASSWORD',
  'agent-compute-1': 'CYBORG_NATS_AGENT_COMPUTE_1_PASSWORD',
  'agent-compute-2': 'CYBORG_NATS_AGENT_COMPUTE_2_PASSWORD',
} as const;

export type NatsUser = keyof typeof NATS_USERS;

/**
 * A private nats-server run with the deploy config unchanged but for its
 * port and JetStream directory, each user given a random password through
 * the environment, as an operator would.
 */
export class NatsWithUsers {
  private process: ChildProcess | null = null;
  readonly dir = mkdtempSync(join(tmpdir(), 'cyborg-faults-nats-'));
  readonly passwords: Record<NatsUser, string>;

  private constructor(readonly port: number) {
    this.passwords = Object.fromEntries(
      Object.keys(NATS_USERS).map((user) => [user, `nats-${randomBytes(12).toString('hex')}`]),
    ) as Record<NatsUser, string>;
    const config = readFileSync(DEPLOY_NATS_CONFIG, 'utf8')
      .replace(/^port: \d+$/m, `port: ${port}`)
      .replace(/^http_port: \d+$/m, '')
      .replace(/store_dir: ".*"/, `store_dir: "${join(this.dir, 'jetstream')}"`);
    writeFileSync(this.configFile, config);
  }

  static async start(): Promise<NatsWithUsers> {
    const server = new NatsWithUsers(await freePort());
    await server.resume();
    return server;
  }

  get configFile(): string {
    return join(this.dir, 'nats-server.conf');
  }

  /** NATS_URL for one user, its password in the URL. */
  url(user: NatsUser): string {
    return `nats://${user}:${this.passwords[user]}@127.0.0.1:${this.port}`;
  }

  async resume(): Promise<void> {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
    for (const [user, variable] of Object.entries(NATS_USERS)) env[variable] = this.passwords[user as NatsUser];
    const binary = process.env.NATS_SERVER_BIN ?? 'nats-server';
    this.process = spawn(binary, ['-c', this.configFile, '-a', '127.0.0.1'], { stdio: 'ignore', env });
    await waitForPort(this.port, 10_000);
  }

  /** kill -9: whatever JetStream acknowledged is on disk. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
