import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEPLOY_NATS_CONFIG, NATS_USERS, type NatsUser } from './nats-with-users';
import { freePort, waitForPort } from './ports';

/** The documented three-server cluster, which includes deploy/nats/nats-server.conf. */
export const DEPLOY_NATS_CLUSTER_CONFIG = new URL('../../../deploy/nats/nats-cluster.conf', import.meta.url).pathname;

/** What `/jsz` says of the JetStream meta group, as seen by one server. */
interface Jsz {
  meta_cluster?: { name?: string; leader?: string; cluster_size?: number; replicas?: { name: string }[] };
}

export interface NatsClusterOptions {
  /** EVENTS_STREAM_NAME and EVENTS_SUBJECT_PREFIX the users' permissions are written for. */
  streamName: string;
  subjectPrefix: string;
  /** Users beside the deploy config's (another deployment's, say), with their permissions. */
  extraUsers?: Record<string, { publish: string[]; subscribe: string[] }>;
}

/** One server of the cluster: its ports and process. */
export class ClusterNode {
  process: ChildProcess | null = null;

  constructor(
    readonly name: string,
    readonly port: number,
    readonly monitorPort: number,
    readonly routePort: number,
    readonly configFile: string,
  ) {}

  get running(): boolean {
    return this.process !== null && this.process.exitCode === null && this.process.signalCode === null;
  }
}

/**
 * Three private nats-servers run with deploy/nats/nats-cluster.conf (and so
 * the deploy users and permissions), on free loopback ports, routed to each
 * other, JetStream in a directory of their own each. Any one can be killed
 * (-9) and started again; NATS_URL names all three.
 */
export class NatsCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'cyborg-faults-nats-cluster-'));
  readonly passwords: Record<NatsUser, string>;
  private readonly extraPasswords: Record<string, string>;
  readonly nodes: ClusterNode[] = [];

  private constructor(readonly options: NatsClusterOptions) {
    this.passwords = Object.fromEntries(
      Object.keys(NATS_USERS).map((user) => [user, `nats-${randomBytes(12).toString('hex')}`]),
    ) as Record<NatsUser, string>;
    this.extraPasswords = Object.fromEntries(
      Object.keys(options.extraUsers ?? {}).map((user) => [user, `nats-${randomBytes(12).toString('hex')}`]),
    );
  }

  static async start(options: NatsClusterOptions): Promise<NatsCluster> {
    const cluster = new NatsCluster(options);
    await cluster.configure();
    try {
      await cluster.resume();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  private async configure(): Promise<void> {
    // The users' permissions, written for this deployment's stream and prefix, as an operator would.
    const extra = Object.entries(this.options.extraUsers ?? {}).map(
      ([user, p]) =>
        `    { user: ${user}, password: "${this.extraPasswords[user]}", permissions: ` +
        `{ publish: ${JSON.stringify(p.publish)}, subscribe: ${JSON.stringify(p.subscribe)} } }`,
    );
    const users = readFileSync(DEPLOY_NATS_CONFIG, 'utf8')
      .replace(/^EVENTS_SUBJECTS: ".*"$/m, `EVENTS_SUBJECTS: "${this.options.subjectPrefix}.>"`)
      .replace(/^ANCHORS_SUBJECT: ".*"$/m, `ANCHORS_SUBJECT: "${this.options.subjectPrefix}-anchors"`)
      .replace(/^EVENTS_ACKS: ".*"$/m, `EVENTS_ACKS: "$JS.ACK.${this.options.streamName}.>"`)
      .replace(/^  users: \[$/m, ['  users: [', ...extra].join('\n'));
    writeFileSync(join(this.dir, 'nats-server.conf'), users);
    const ports = [];
    for (let i = 1; i <= 3; i++)
      ports.push({ port: await freePort(), monitor: await freePort(), route: await freePort() });
    const routes = ports.map((p) => `    nats://127.0.0.1:${p.route}`).join('\n');
    const template = readFileSync(DEPLOY_NATS_CLUSTER_CONFIG, 'utf8');
    ports.forEach((p, i) => {
      const name = `nats-${i + 1}`;
      const store = join(this.dir, name, 'jetstream');
      mkdirSync(store, { recursive: true });
      const config = template
        .replace(/^port: \d+$/m, `port: ${p.port}`)
        .replace(/^http_port: \d+$/m, `http_port: ${p.monitor}`)
        .replace(/store_dir: ".*"/, `store_dir: "${store}"`)
        .replace(/listen: [^\n]*:6222/, `listen: 127.0.0.1:${p.route}`)
        .replace(/routes: \[[^\]]*\]/, `routes: [\n${routes}\n  ]`);
      const file = join(this.dir, `${name}.conf`);
      writeFileSync(file, config);
      this.nodes.push(new ClusterNode(name, p.port, p.monitor, p.route, file));
    });
  }

  node(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no NATS server ${name}`);
    return node;
  }

  /** NATS_URL for one user: every server, the password in the first URL (it is used for all). */
  url(user: NatsUser | string): string {
    const password = this.passwords[user as NatsUser] ?? this.extraPasswords[user];
    if (!password) throw new Error(`no NATS user ${user}`);
    return this.nodes
      .map((n, i) => (i === 0 ? `nats://${user}:${password}@127.0.0.1:${n.port}` : `nats://127.0.0.1:${n.port}`))
      .join(',');
  }

  /** Starts one server (again), resolving once it takes clients. */
  async startNode(name: string): Promise<void> {
    const node = this.node(name);
    if (node.running) return;
    const env: Record<string, string> = { PATH: process.env.PATH ?? '', NATS_SERVER_NAME: name };
    for (const [user, variable] of Object.entries(NATS_USERS)) env[variable] = this.passwords[user as NatsUser];
    const binary = process.env.NATS_SERVER_BIN ?? 'nats-server';
    node.process = spawn(binary, ['-c', node.configFile, '-a', '127.0.0.1'], { stdio: 'ignore', env });
    await waitForPort(node.port, 20_000);
  }

  /** kill -9 one server: whatever it acknowledged is on its disk, and on a majority's. */
  async killNode(name: string): Promise<void> {
    const node = this.node(name);
    const child = node.process;
    node.process = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** `/jsz` of one server. */
  async jsz(name: string): Promise<Jsz> {
    const answer = await fetch(`http://127.0.0.1:${this.node(name).monitorPort}/jsz`, {
      signal: AbortSignal.timeout(3000),
    });
    return (await answer.json()) as Jsz;
  }

  /** The JetStream meta leader as every running server sees it; undefined while they disagree or elect. */
  async metaLeader(): Promise<string | undefined> {
    const seen = new Set<string>();
    for (const node of this.nodes.filter((n) => n.running)) {
      const jsz = await this.jsz(node.name).catch(() => ({}) as Jsz);
      seen.add(jsz.meta_cluster?.leader ?? '');
    }
    const [leader] = [...seen];
    return seen.size === 1 && leader ? leader : undefined;
  }

  /** Every server running (again), resolving once they agree on a JetStream meta leader. */
  async resume(): Promise<void> {
    for (const node of this.nodes) await this.startNode(node.name);
    const deadline = Date.now() + 60_000;
    while (!(await this.metaLeader())) {
      if (Date.now() > deadline) throw new Error('the NATS cluster elected no JetStream meta leader within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** kill -9 every server. */
  async stop(): Promise<void> {
    for (const node of this.nodes) await this.killNode(node.name);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
