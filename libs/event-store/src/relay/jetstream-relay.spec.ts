import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '@cyborg/messaging';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { TestNatsServer } from '../../../../test/support/nats-server';
import { EventStore } from '../event-store';
import { ProcessorRunner } from '../processor/processor-runner';
import { LOG_START } from '../types';
import { ensureEventsStream, EVENTS_STREAM, eventSubject, JetStreamRelay } from './jetstream-relay';

let db: TestDatabase;
let store: EventStore;
let nats: TestNatsServer;
let nc: NatsConnection;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new EventStore(db.dataSource);
  nats = await TestNatsServer.start();
  nc = await connectNats(nats.url, 'relay-test');
});
afterAll(async () => {
  await nc.close();
  await nats.destroy();
  await db.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function storedMessages(): Promise<{ eventId: string; subject: string; msgId: string | undefined }[]> {
  const js = jetstream(nc);
  const consumer = await js.consumers.get(EVENTS_STREAM); // ordered consumer from the start
  const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM);
  const out: { eventId: string; subject: string; msgId: string | undefined }[] = [];
  if (info.state.messages === 0) return out;
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ eventId: m.json<{ eventId: string }>().eventId, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

it('publishes every event exactly once, in log order, across a NATS restart', async () => {
  const runner = new ProcessorRunner(new JetStreamRelay(nc, { publishTimeoutMs: 1000 }), store, {
    databaseUrl: db.url,
    pollIntervalMs: 50,
  });
  await runner.start();

  let last = LOG_START;
  const appending = (async () => {
    for (let i = 0; i < 60; i++) {
      const { checkpoint } = await store.append([
        { streamId: `arq-${randomUUID()}`, expectedVersion: 0, events: [{ type: 'ArqCreated', data: { i } }, { type: 'ArqBound', data: { i } }] },
      ]);
      last = checkpoint ?? last;
      await sleep(10);
    }
  })();
  await sleep(150);
  await nats.stop(); // mid-append: publishes now fail and the checkpoint must not move
  await sleep(700);
  await nats.resume();
  await appending;

  expect(await runner.waitFor(last, 30_000)).toBe(true);
  await runner.stop();

  const log = await store.readAll({ after: LOG_START, limit: 10_000 });
  expect(log.events).toHaveLength(120);
  const published = await storedMessages();
  expect(published.map((m) => m.eventId)).toEqual(log.events.map((e) => e.eventId));
  expect(published.every((m) => m.msgId === m.eventId)).toBe(true);
  expect(published[0].subject).toBe(eventSubject(log.events[0]));
  expect(published[0].subject).toMatch(/^cyborg\.events\.arq\.Arq(Created|Bound)$/);
});

it('stores a republished batch once (Nats-Msg-Id de-duplication)', async () => {
  const before = (await storedMessages()).length;
  // Rewind the relay, as after a crash between publishing and checkpointing.
  await db.dataSource.query(`UPDATE checkpoints SET transaction_id = '0', position = 0 WHERE name = 'relay:jetstream'`);
  const runner = new ProcessorRunner(new JetStreamRelay(nc), store, { databaseUrl: db.url, pollIntervalMs: 50 });
  await runner.start();
  const [last] = (await store.readAll({ limit: 10_000 })).events.slice(-1);
  expect(await runner.waitFor({ transactionId: last.transactionId, position: last.position }, 30_000)).toBe(true);
  await runner.stop();
  expect((await storedMessages()).length).toBe(before);
});

it('relays into the stream and under the prefix it is given, beside the default stream on the same server', async () => {
  const other = { streamName: 'OTHER_EVENTS', subjectPrefix: 'other.cyborg-events' };
  const otherDb = await createTestDatabase();
  try {
    const otherStore = new EventStore(otherDb.dataSource);
    const { checkpoint, events } = await otherStore.append([
      { streamId: `arq-${randomUUID()}`, expectedVersion: 0, events: [{ type: 'ArqCreated', data: { other: true } }] },
    ]);
    const runner = new ProcessorRunner(new JetStreamRelay(nc, other), otherStore, {
      databaseUrl: otherDb.url,
      pollIntervalMs: 50,
    });
    await runner.start();
    expect(await runner.waitFor(checkpoint!, 30_000)).toBe(true);
    await runner.stop();

    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(other.streamName);
    expect(info.config.subjects).toEqual(['other.cyborg-events.>']);
    expect(info.state.messages).toBe(1);
    const message = await (await jetstream(nc).consumers.get(other.streamName)).next({ expires: 5000 });
    expect(message?.subject).toBe(eventSubject(events[0], other.subjectPrefix));
    expect(message?.headers?.get('Nats-Msg-Id')).toBe(events[0].eventId);
    // The default deployment's stream never got it.
    expect((await storedMessages()).map((m) => m.eventId)).not.toContain(events[0].eventId);
  } finally {
    await otherDb.drop();
  }
});

it("refuses a stream of its name that holds another deployment's subjects", async () => {
  await expect(ensureEventsStream(nc, { streamName: EVENTS_STREAM, subjectPrefix: 'elsewhere.events' })).rejects.toThrow(
    /CYBORG_EVENTS holds \["cyborg\.events\.>"\], not elsewhere\.events\.>: it belongs to another deployment/,
  );
});

it('keeps using a stream the server cannot scale (one nats-server, 3 replicas asked), and cannot create one so', async () => {
  await expect(ensureEventsStream(nc, { replicas: 3 })).resolves.toBeUndefined();
  const jsm = await jetstreamManager(nc);
  expect((await jsm.streams.info(EVENTS_STREAM)).config.num_replicas).toBe(1);
  await expect(ensureEventsStream(nc, { streamName: 'NEW_EVENTS', subjectPrefix: 'new.events', replicas: 3 })).rejects.toThrow(
    /replicas > 1 not supported in non-clustered mode/,
  );
});
