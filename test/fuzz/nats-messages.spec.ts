import { randomUUID } from 'node:crypto';
import { ConsoleLogger } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import fc from 'fast-check';
import { loadSettings, type RunningService } from '@cyborg/config';
import { agentSubject, AgentWork, ConductorCommands, conductorSubject, hostCommandSubject } from '@cyborg/contracts';
import { type DiscoveredDevice, fakeDevice, inventoryHash } from '@cyborg/drivers';
import { connectNats } from '@cyborg/messaging';
import { startAgent } from '../../apps/agent/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestNatsServer } from '../support/nats-server';

/**
 * Malformed NATS messages and lying agents, against a real conductor and
 * agents on a private nats-server: every subject a service serves answers
 * garbage with a typed 4xx and carries on; an agent that speaks for another
 * host, or reports another host's devices, is refused and logged, and the
 * log holds nothing of it. Seeded (FUZZ_SEED) so a failure replays.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261121);
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const hostA = `liar-a-${randomUUID().slice(0, 6)}`;
const hostB = `honest-b-${randomUUID().slice(0, 6)}.example.com`;

interface LogEntry {
  level: string;
  text: string;
}

/** Keeps every line the services log, printing only errors. */
class RecordingLogger extends ConsoleLogger {
  readonly entries: LogEntry[] = [];

  constructor() {
    super('fuzz', { logLevels: ['fatal', 'error', 'warn', 'log', 'debug'] });
  }

  protected override printMessages(messages: unknown[], context?: string, logLevel = 'log'): void {
    const text = messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
    this.entries.push({ level: logLevel, text: `${context ?? ''} ${text}` });
  }
}

let db: TestDatabase;
let nats: TestNatsServer;
let nc: NatsConnection;
const logger = new RecordingLogger();
const services: RunningService[] = [];

function settingsFor(extra: Record<string, string> = {}) {
  return loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    PROJECTION_POLL_MS: '50',
    RPC_TIMEOUT_MS: '3000',
    // Reports only when asked: the log stays still while messages are counted.
    AGENT_REPORT_INTERVAL_MS: '600000',
    AGENT_DRIVERS: 'fake',
    ...extra,
  });
}

async function eventCount(): Promise<number> {
  const rows: { n: number }[] = await db.dataSource.query(`SELECT count(*)::int AS n FROM events`);
  return rows[0].n;
}

interface Reply {
  err?: { code: string; status: number; message: string };
  response?: unknown;
}

/** One raw request, as any NATS client could send it; the reply as the service sent it. */
async function request(subject: string, body: Uint8Array | string): Promise<Reply> {
  const message = await nc.request(subject, body, { timeout: 5000 });
  return message.json<Reply>();
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  nc = await connectNats(nats.url, 'nats-fuzz');
  services.push(await startConductor(settingsFor(), logger));
  for (const hostname of [hostA, hostB]) {
    services.push(await startAgent(settingsFor({ AGENT_HOSTNAME: hostname }), logger));
  }
  // Both hosts registered and reported once: the log is still from here on.
  await eventually(async () => {
    const rows: { n: number }[] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM events WHERE type = 'InventoryReported'`,
    );
    return rows[0].n === 2 ? true : undefined;
  });
}, 60_000);

afterAll(async () => {
  for (const service of services.reverse()) await service.close();
  await nc?.close();
  await nats?.destroy();
  await db?.drop();
});

/** Every subject the conductor and an agent serve. */
function servedSubjects(): string[] {
  const hostCommands: string[] = [
    ConductorCommands.registerHost,
    ConductorCommands.reportInventory,
    ConductorCommands.heartbeat,
  ];
  return [
    ...Object.values(ConductorCommands)
      .filter((c) => !hostCommands.includes(c))
      .map((c) => conductorSubject(c)),
    ...hostCommands.map((c) => hostCommandSubject(c, hostA)),
    ...Object.values(AgentWork).map((w) => agentSubject(hostA, w)),
  ];
}

const MALFORMED: (Uint8Array | string)[] = [
  '',
  'not json{',
  '{"commandId": ',
  new Uint8Array([0xff, 0xfe, 0xfd]),
  'null',
  '42',
  '"a string"',
  '[]',
  '{"unexpected": true}',
  '{"commandId": 7, "caller": "me"}',
  '{"commandId": "x", "caller": {"roles": "admin", "service": "yes"}}',
  '{"hostname": "a\\u0000b", "commandId": "\\ud800"}',
  JSON.stringify({ commandId: 'x'.repeat(300_000) }),
  '['.repeat(50_000) + ']'.repeat(50_000),
];

describe('malformed messages', () => {
  it('are answered on every subject with invalid_message (400), write nothing, and are logged', async () => {
    const before = await eventCount();
    const warnings = logger.entries.length;
    const subjects = servedSubjects();
    expect(subjects.length).toBeGreaterThanOrEqual(15);
    for (const subject of subjects) {
      for (const body of MALFORMED) {
        const reply = await request(subject, body);
        expect({ subject, body: String(body).slice(0, 60), err: reply.err }).toMatchObject({
          err: { code: 'invalid_message', status: 400 },
        });
      }
    }
    expect(await eventCount()).toBe(before);
    const logged = logger.entries.slice(warnings).filter((e) => e.level === 'warn' && /invalid_message/.test(e.text));
    expect(logged.length).toBeGreaterThanOrEqual(subjects.length);
  });

  it('fuzzed JSON on every subject: a reply every time, never a 5xx, nothing written by a refusal', async () => {
    for (const subject of servedSubjects()) {
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 5 }), async (payload) => {
          const before = await eventCount();
          const reply = await request(subject, JSON.stringify(payload));
          if (reply.err) {
            expect({ subject, status: reply.err.status }).toEqual({ subject, status: expect.any(Number) });
            expect(reply.err.status).toBeGreaterThanOrEqual(400);
            expect(reply.err.status).toBeLessThan(500);
            expect(await eventCount()).toBe(before);
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    }
    // Everyone still serves.
    const ping = await request(agentSubject(hostA, AgentWork.ping), '{}');
    expect(ping.response).toMatchObject({ hostname: hostA });
  });
});

describe('a lying agent', () => {
  const caller = { roles: ['service'], service: true };
  const report = (hostname: string, devices: DiscoveredDevice[], generation = Date.now() * 1000) => ({
    commandId: randomUUID(),
    caller,
    hostname,
    generation,
    inventoryHash: inventoryHash({ hostname, devices }),
    devices,
  });

  async function refused(subject: string, payload: object, status: number, code: string, logged: RegExp) {
    const before = await eventCount();
    const from = logger.entries.length;
    const reply = await request(subject, JSON.stringify(payload));
    expect(reply.err).toMatchObject({ status, code });
    expect(await eventCount()).toBe(before);
    const warnings = logger.entries.slice(from).filter((e) => e.level === 'warn');
    expect(warnings.map((w) => w.text).join('\n')).toMatch(logged);
    return reply.err!;
  }

  it('cannot register another host: its subject names its own', async () => {
    const err = await refused(
      hostCommandSubject(ConductorCommands.registerHost, hostA),
      { commandId: randomUUID(), caller, hostname: hostB, drivers: ['fake'], agentVersion: '0.1.0' },
      403,
      'host_mismatch',
      new RegExp(`another host than its subject.*${hostB}`),
    );
    expect(err.message).toContain(hostB);
  });

  it("cannot report another host's inventory on its own subject", async () => {
    await refused(
      hostCommandSubject(ConductorCommands.reportInventory, hostA),
      report(hostB, [fakeDevice(hostB)]),
      403,
      'host_mismatch',
      /another host than its subject/,
    );
  });

  it("cannot pass another host's devices off as its own", async () => {
    // The devices named for host B (their resource providers are B's), reported as host A's.
    const err = await refused(
      hostCommandSubject(ConductorCommands.reportInventory, hostA),
      report(hostA, [fakeDevice(hostB)]),
      400,
      'invalid_inventory',
      /refused an inventory report.*not named for this host/,
    );
    expect(err.message).toMatch(/not named for this host/);
    const deployables: { n: number }[] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND data->>'name' LIKE $2`,
      [`host-${hostA}`, `${hostB.replace(/\./g, '_')}%`],
    );
    expect(deployables[0].n).toBe(0);
  });

  it('cannot lie about its devices: a hash that is not theirs is refused', async () => {
    const devices = [fakeDevice(hostA)];
    await refused(
      hostCommandSubject(ConductorCommands.reportInventory, hostA),
      { ...report(hostA, devices), inventoryHash: 'b'.repeat(64) },
      400,
      'inventory_hash_mismatch',
      /inventoryHash mismatch/,
    );
  });

  it('cannot send heartbeats for another host', async () => {
    await refused(
      hostCommandSubject(ConductorCommands.heartbeat, hostA),
      { hostname: hostB },
      403,
      'host_mismatch',
      /another host than its subject/,
    );
  });
});
