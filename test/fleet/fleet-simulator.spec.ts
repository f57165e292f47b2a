import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadSettings, type RunningService } from '@cyborg/config';
import { heartbeatMessage, type HeartbeatResult } from '@cyborg/contracts';
import { MessagingModule, RpcClient } from '@cyborg/messaging';
import { startConductor } from '../../apps/conductor/src/start';
import { FleetHosts } from '../../bench/fleet/fleet-hosts';
import { writeGpuServerFile } from '../../bench/system/hosts';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';

/**
 * The fleet simulator of the bench (bench/fleet) against the real conductor
 * over real NATS and PostgreSQL: its hosts register, report and heartbeat as
 * agents do, and one that goes silent is marked down, and up again when it
 * is heard. Nothing here is timed.
 */
const HOSTS = 20;
const DOWN_AFTER_MS = 5000;

let db: TestDatabase;
let nats: TestNatsServer;
let conductor: RunningService;
let client: INestApplicationContext;
let rpc: RpcClient;
let dir: string;
let fleet: FleetHosts;
const tag = randomBytes(3).toString('hex');
const hostnames = Array.from({ length: HOSTS }, (_, i) => `fleet-test-${tag}-${i}`);

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  dir = await mkdtemp(join(tmpdir(), 'cyborg-fleet-test-'));
  const settings = loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    HOST_DOWN_AFTER_MS: String(DOWN_AFTER_MS),
    CONDUCTOR_METRICS_PORT: '0',
  });
  conductor = await startConductor(settings, quietLogger);
  client = await NestFactory.createApplicationContext(
    MessagingModule.forRoot({ servers: nats.url, name: 'fleet-test-client', defaultTimeoutMs: 20_000 }),
    { logger: false },
  );
  await client.init();
  rpc = client.get(RpcClient);
  const hostFile = join(dir, 'gpu-server.yaml');
  await writeGpuServerFile(hostFile, 2);
  fleet = new FleetHosts(rpc, { heartbeatMs: 500, reportMs: 1500, hostFile, concurrency: 5, timeoutMs: 20_000 });
}, 120_000);

afterAll(async () => {
  fleet?.stop();
  await client?.close();
  await conductor?.close();
  await nats?.destroy();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function eventsOf(hostname: string): Promise<string[]> {
  const rows: { type: string }[] = await db.dataSource.query(
    `SELECT type FROM events WHERE stream_id = $1 ORDER BY version`,
    [`host-${hostname}`],
  );
  return rows.map((r) => r.type);
}

describe('fleet simulator', () => {
  it('registers every host with its first report, as an agent does', async () => {
    const times = await fleet.add(hostnames);
    expect(times).toHaveLength(HOSTS);
    for (const hostname of hostnames) {
      const types = await eventsOf(hostname);
      expect(types[0]).toBe('HostRegistered');
      expect(types.filter((t) => t === 'DeviceAdded')).toHaveLength(2);
      expect(types).toContain('InventoryReported');
    }
  }, 120_000);

  it('heartbeats and reports on the agent timers: every host is stamped, reports change nothing', async () => {
    const stats = await eventually(async () => {
      const s = fleet.stats();
      return s.heartbeats >= 3 * HOSTS && s.reports >= HOSTS ? s : undefined;
    }, 60_000);
    expect(stats.heartbeatFailures).toBe(0);
    expect(stats.reportFailures).toBe(0);
    expect(stats.firstFailure).toBeNull();
    expect(stats.heartbeatMs.length).toBe(stats.heartbeats);
    const stamped: { n: number }[] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM host_heartbeats WHERE hostname = ANY($1) AND last_seen_at > now() - interval '1 minute'`,
      [hostnames],
    );
    expect(stamped[0].n).toBe(HOSTS);
    // Unchanged reports append nothing: one InventoryReported per host, from its first report.
    for (const hostname of hostnames.slice(0, 3)) {
      expect((await eventsOf(hostname)).filter((t) => t === 'InventoryReported')).toHaveLength(1);
    }
  }, 90_000);

  it('a silenced host is marked down, the others stay up, and its next heartbeat brings it back', async () => {
    const [victim, ...others] = hostnames;
    expect(fleet.silence(victim)).not.toBeNull();
    await eventually(async () => ((await eventsOf(victim)).includes('HostDown') ? true : undefined), 60_000);
    for (const hostname of others) expect(await eventsOf(hostname)).not.toContain('HostDown');

    const { subject, command } = heartbeatMessage(victim);
    const answer = await rpc.request<HeartbeatResult>(subject, command);
    expect(answer.cameBack).toBe(true);
    expect((await eventsOf(victim)).slice(-2)).toEqual(['HostDown', 'HostUp']);
    // Heard again and up: a second heartbeat reads nothing more and changes nothing.
    expect((await rpc.request<HeartbeatResult>(subject, command)).cameBack).toBe(false);
  }, 90_000);
});
