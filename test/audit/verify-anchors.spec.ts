import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ANCHORS_STREAM, ANCHORS_SUBJECT, EVENTS_STREAM, type LogAnchor } from '@cyborg/event-store';
import { connectNats } from '@cyborg/messaging';
import { rewriteEvent } from '../support/log-tampering';
import { TestSystem } from '../support/system';
import { Cli } from './cli';

/**
 * The running system anchors its log; an operator's `cyborg verify` finds
 * history a database superuser rewrote (chains recomputed, so the database
 * alone cannot tell), and names the event.
 */
const KEY = 'signing-key-the-database-never-sees-0123456789';
let system: TestSystem;
let cli: Cli;
let nc: NatsConnection;

beforeAll(async () => {
  system = await TestSystem.start({
    name: 'verify-anchors',
    hostname: `anchors-${randomUUID().slice(0, 8)}`,
    settings: { ANCHOR_INTERVAL_MS: '200', ANCHOR_SIGNING_KEY: KEY },
  });
  nc = await connectNats(system.nats.url, 'verify-anchors-test');
  cli = await Cli.build({ DATABASE_URL: system.db.url, NATS_URL: system.nats.url, ANCHOR_SIGNING_KEY: KEY });
}, 180_000);

afterAll(async () => {
  await cli?.remove();
  await nc?.close();
  await system?.close();
});

/** Until JetStream holds every event of the log and the conductor's newest anchor covers them all. */
async function settled(): Promise<number> {
  const jsm = await jetstreamManager(nc);
  for (let i = 0; i < 1200; i++) {
    const [{ count }] = await system.db.dataSource.query(`SELECT count(*)::int AS count FROM events`);
    const relayed = await jsm.streams
      .info(EVENTS_STREAM)
      .then((s) => s.state.messages)
      .catch(() => 0);
    const anchor = await jsm.streams
      .getMessage(ANCHORS_STREAM, { last_by_subj: ANCHORS_SUBJECT })
      .then((m) => m?.json<LogAnchor>() ?? null)
      .catch(() => null);
    if (count > 0 && relayed === count && anchor?.events === count) return count;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the log was not relayed and anchored within 120 s');
}

async function createProfile(): Promise<string> {
  const response = await fetch(`${system.apiUrl}/v2/device_profiles`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-User-Id': 'ops',
      'X-Project-Id': 'admin',
      'X-Roles': 'admin,manager,member,reader',
    },
    body: JSON.stringify([{ name: `anchored-${randomUUID().slice(0, 8)}`, groups: [{ 'resources:FPGA': '1' }] }]),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { uuid: string }).uuid;
}

it('an untouched log verifies clean against JetStream and the signed anchors', async () => {
  await createProfile();
  const events = await settled();
  const result = await cli.run(['verify']);
  expect(result.code).toBe(0);
  // Both passes report progress on stderr, ending at the whole log.
  const progress = result.stderr.trim().split('\n');
  expect(progress.some((line) => /^verifying events: (\d+) of \1 \(100%\)$/.test(line))).toBe(true);
  expect(progress[progress.length - 1]).toMatch(/^comparing with JetStream: (\d+) of \1 \(100%\)$/);
  // The system may append while the check runs: what it finds unrelayed then is counted, not failed.
  const compared = Number(new RegExp(`^(\\d+) events compared with ${EVENTS_STREAM}`, 'm').exec(result.stdout)?.[1]);
  expect(compared).toBeGreaterThanOrEqual(events);
  expect(result.stdout).toContain('every relayed event matches its JetStream copy\n');
  expect(result.stdout).toMatch(new RegExp(`\\d+ anchors in ${ANCHORS_STREAM}, signatures checked\\n`));
  expect(result.stdout).toContain('the log matches every anchor\n');
});

it('a rewritten device profile fools the chains in the database, not verify, which names the event', async () => {
  const uuid = await createProfile();
  await settled();
  const stream = `device_profile-${uuid}`;
  const [row] = await system.db.dataSource.query(`SELECT * FROM events WHERE stream_id = $1 AND version = 1`, [stream]);
  await rewriteEvent(system.db.dataSource, stream, 1, {
    ...row.data,
    groups: [{ 'resources:FPGA': '8' }],
  });

  const databaseAlone = await cli.run(['verify', '--log-only', '--quiet']);
  expect(databaseAlone.code).toBe(0);
  expect(databaseAlone.stdout).toContain('every hash chain verifies');

  const result = await cli.run(['verify', '--quiet']);
  expect(result.code).toBe(1);
  expect(result.stdout).toContain('every hash chain verifies');
  expect(result.stdout).toContain(
    `first event that differs: position ${row.position}, ${stream} v1, event ${row.event_id}: differs from its JetStream copy: data, hash\n`,
  );
  expect(result.stdout).toMatch(/does not match the anchored digest/);

  const json = JSON.parse((await cli.run(['verify', '--quiet', '--json'])).stdout);
  expect(json.breaks).toEqual([]);
  expect(json.jetstream.difference).toEqual({
    position: Number(row.position),
    streamId: stream,
    version: 1,
    eventId: row.event_id,
    problem: 'differs from its JetStream copy: data, hash',
  });
  expect(json.jetstream.signaturesChecked).toBe(true);
});

it('says so, and fails, when NATS cannot be reached', async () => {
  const result = await cli.run(['verify', '--quiet'], { NATS_URL: 'nats://127.0.0.1:1' });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^error: cannot reach NATS at NATS_URL .*--log-only checks the database alone\n$/);
});
