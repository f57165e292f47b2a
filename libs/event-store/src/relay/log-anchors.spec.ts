import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats } from '@cyborg/messaging';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { deleteNewestEvents, rewriteEvent } from '../../../../test/support/log-tampering';
import { TestNatsServer } from '../../../../test/support/nats-server';
import { EventStore } from '../event-store';
import { EventTypeRegistry } from '../upcasters';
import { verifyEventLog } from '../integrity';
import { type AppendRequest, compareCheckpoints } from '../types';
import { ProcessorRunner } from '../processor/processor-runner';
import { EVENTS_STREAM, JetStreamRelay } from './jetstream-relay';
import {
  ANCHORS_STREAM,
  ANCHORS_SUBJECT,
  foldLogDigest,
  LOG_DIGEST_START,
  type LogAnchor,
  LogAnchorer,
  signAnchor,
} from './log-anchors';
import { verifyAgainstCopies } from './verify-copies';

/**
 * A database superuser rewrites history and recomputes every hash after the
 * change, so the chains inside PostgreSQL verify; what left the database (the
 * JetStream copy of every event, the conductor's signed anchors) still tells.
 */
const KEY = 'anchor-signing-key-for-tests-0123456789';
let nats: TestNatsServer;
let nc: NatsConnection;
let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connectNats(nats.url, 'anchors-test');
});
afterAll(async () => {
  await nc.close();
  await nats.destroy();
});
beforeEach(async () => {
  db = await createTestDatabase();
  store = new EventStore(db.dataSource, undefined, { processWakeUps: false });
  const jsm = await jetstreamManager(nc);
  for (const name of [EVENTS_STREAM, ANCHORS_STREAM]) await jsm.streams.delete(name).catch(() => false);
});
afterEach(async () => {
  await db.drop();
});

const arq = () => `arq-${randomUUID()}`;

/**
 * Appends and waits until readers may see it: a transaction open anywhere in
 * the cluster (snapshots are cluster-wide) holds every log reader back.
 */
async function append(requests: AppendRequest[]): Promise<void> {
  const { checkpoint } = await store.append(requests);
  for (let i = 0; i < 1200 && compareCheckpoints(await store.head(), checkpoint!) < 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  expect(compareCheckpoints(await store.head(), checkpoint!)).toBeGreaterThanOrEqual(0);
}

/** Appends a few ARQ lifecycles, relays them all to JetStream and anchors the log; returns the streams. */
async function history(anchorer: LogAnchorer, lifecycles = 3): Promise<string[]> {
  const streams: string[] = [];
  for (let i = 0; i < lifecycles; i++) {
    const stream = arq();
    streams.push(stream);
    await append([
      {
        streamId: stream,
        expectedVersion: 0,
        events: ['ArqCreated', 'ArqBindStarted', 'ArqBound'].map((type, n) => ({ type, data: { i, n } })),
      },
    ]);
    await relayAll();
    await anchorer.anchor();
  }
  return streams;
}

async function relayAll(relayStore: EventStore = store): Promise<void> {
  const runner = new ProcessorRunner(new JetStreamRelay(nc), relayStore, { databaseUrl: db.url, pollIntervalMs: 50 });
  await runner.start();
  expect(await runner.waitFor(await store.head(), 60_000)).toBe(true);
  await runner.stop();
}

const anchorer = (signingKey: string | undefined = KEY) => new LogAnchorer(nc, store, { intervalMs: 100, signingKey });

it('an untouched log verifies clean against its JetStream copy and every signed anchor', async () => {
  const a = anchorer();
  await history(a);
  const result = await verifyAgainstCopies(store, nc, { signingKey: KEY, batchSize: 4 });
  expect(result).toEqual({
    events: 9,
    relayed: 9,
    notCompared: 0,
    difference: null,
    anchors: 3,
    signaturesChecked: true,
    anchorProblems: [],
  });
  // Nothing new: no anchor is published.
  expect(await a.anchor()).toBeNull();
});

it('anchors on its interval the events appended since the last anchor, continuing its digest', async () => {
  const a = anchorer();
  await history(a, 1);
  await append([{ streamId: arq(), expectedVersion: 0, events: [{ type: 'ArqCreated', data: {} }] }]);
  a.start();
  let last: LogAnchor | null = null;
  for (let i = 0; i < 600 && last?.events !== 4; i++) {
    await new Promise((r) => setTimeout(r, 100));
    last = (await (
      await jetstreamManager(nc)
    ).streams.getMessage(ANCHORS_STREAM, { last_by_subj: ANCHORS_SUBJECT }))!.json();
  }
  await a.stop();
  expect(last?.events).toBe(4);
  const hashes: { hash: string }[] = await db.dataSource.query(
    `SELECT hash FROM events ORDER BY transaction_id, position`,
  );
  expect(last?.digest).toBe(hashes.reduce((d, { hash }) => foldLogDigest(d, hash), LOG_DIGEST_START));
});

it('a rewritten event whose chain was recomputed passes the chain check but not verify, which names it', async () => {
  const streams = await history(anchorer());
  await rewriteEvent(db.dataSource, streams[1], 2, { i: 1, n: 1, bound_to: 'attacker-instance' });

  expect((await verifyEventLog(db.dataSource)).breaks).toEqual([]);
  const [{ position }] = await db.dataSource.query(`SELECT position FROM events WHERE stream_id = $1 AND version = 2`, [
    streams[1],
  ]);
  const result = await verifyAgainstCopies(store, nc, { signingKey: KEY });
  expect(result.difference).toEqual({
    position: Number(position),
    streamId: streams[1],
    version: 2,
    eventId: expect.any(String),
    problem: 'differs from its JetStream copy: data, hash',
  });
  // The second anchor covers events 4-6: the first whose digest no longer matches.
  expect(result.anchorProblems).toEqual([
    {
      sequence: 2,
      position: expect.any(Number),
      events: 6,
      problem:
        'the log up to here does not match the anchored digest: an event up to here was changed, added or removed',
    },
  ]);
});

it('a deleted tail passes the chain check but not verify, which names the first event removed', async () => {
  await history(anchorer());
  const gone = await deleteNewestEvents(db.dataSource, 2);
  expect((await verifyEventLog(db.dataSource)).breaks).toEqual([]);

  const result = await verifyAgainstCopies(store, nc, { signingKey: KEY });
  expect(result.difference).toEqual({
    position: Number(gone[0].position),
    streamId: gone[0].stream_id,
    version: Number(gone[0].version),
    eventId: gone[0].event_id,
    problem: 'in JetStream (ArqBindStarted), missing from the log',
  });
  expect(result.anchorProblems).toEqual([
    expect.objectContaining({ sequence: 3, events: 9, problem: expect.stringMatching(/the log holds 7$/) }),
  ]);
});

it('an anchor forged without the key is reported, and the conductor does not build on it', async () => {
  const a = anchorer();
  const streams = await history(a);
  await rewriteEvent(db.dataSource, streams[0], 1, { i: 0, n: 0, forged: true });
  // An attacker with NATS credentials but not the key anchors the rewritten log.
  const hashes: { hash: string; position: string; transaction_id: string; event_id: string }[] =
    await db.dataSource.query(`SELECT * FROM events ORDER BY transaction_id, position`);
  const last = hashes[hashes.length - 1];
  const forged: LogAnchor = {
    at: { transactionId: last.transaction_id, position: Number(last.position) },
    eventId: last.event_id,
    streamId: streams[2],
    version: 3,
    hash: last.hash,
    events: hashes.length,
    digest: hashes.reduce((d, { hash }) => foldLogDigest(d, hash), LOG_DIGEST_START),
    anchoredAt: new Date().toISOString(),
  };
  const js = jetstream(nc);
  await js.publish(ANCHORS_SUBJECT, JSON.stringify(signAnchor(forged, 'a-guess-at-the-key-which-is-wrong-0000')));
  await js.publish(ANCHORS_SUBJECT, JSON.stringify(forged));

  // The conductor anchors a new event from its last genuine anchor, past the forged ones.
  await append([{ streamId: arq(), expectedVersion: 0, events: [{ type: 'ArqCreated', data: {} }] }]);
  await relayAll();
  const next = await a.anchor();
  const genuine = (await (
    await jetstreamManager(nc)
  ).streams.getMessage(ANCHORS_STREAM, { seq: 3 }))!.json<LogAnchor>();
  const [newest] = await db.dataSource.query(
    `SELECT hash FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1`,
  );
  expect(next).toEqual(expect.objectContaining({ events: 10, digest: foldLogDigest(genuine.digest, newest.hash) }));

  const result = await verifyAgainstCopies(store, nc, { signingKey: KEY });
  expect(result.anchors).toBe(6);
  expect(result.anchorProblems).toEqual([
    {
      sequence: 1,
      position: expect.any(Number),
      events: 3,
      problem: expect.stringMatching(/does not match the anchored digest/),
    },
    { sequence: 4, position: Number(last.position), events: 9, problem: 'signature does not match ANCHOR_SIGNING_KEY' },
    { sequence: 5, position: Number(last.position), events: 9, problem: 'anchor is not signed' },
  ]);
  expect(result.difference).toEqual(expect.objectContaining({ streamId: streams[0], version: 1 }));

  // Without the key a forged anchor cannot be told from a genuine one; the genuine first one still differs.
  const unchecked = await verifyAgainstCopies(store, nc);
  expect(unchecked.signaturesChecked).toBe(false);
  expect(unchecked.anchorProblems).toEqual([expect.objectContaining({ sequence: 1 })]);
});

it('a restarted conductor continues the anchors from JetStream, and two conductors never fork them', async () => {
  await history(anchorer(), 1);
  // A fresh anchorer knows nothing but what JetStream holds, as after a restart.
  const restarted = anchorer();
  const other = anchorer();
  await append([{ streamId: arq(), expectedVersion: 0, events: [{ type: 'ArqCreated', data: {} }] }]);
  const [first, second] = await Promise.all([restarted.anchor(), other.anchor()]);
  // Both saw the same log: one anchor is stored, the other conductor finds it and has nothing to add.
  const published = [first, second].filter((a) => a !== null);
  expect(published).toEqual([expect.objectContaining({ events: 4 })]);
  await relayAll();
  const result = await verifyAgainstCopies(store, nc, { signingKey: KEY });
  expect(result).toEqual(
    expect.objectContaining({ events: 4, relayed: 4, anchors: 2, anchorProblems: [], difference: null }),
  );
});

it('events relayed upcast to a newer schema match their rows, and a rewrite of one is still found', async () => {
  const streams = await history(anchorer(), 2);
  // The relay of a later release reads the v1 rows upcast to v2, as it publishes them.
  const registry = new EventTypeRegistry().register('ArqBound', 2, { 1: (data) => ({ ...data, bound: true }) });
  const upcasting = new EventStore(db.dataSource, registry, { processWakeUps: false });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(EVENTS_STREAM);
  await db.dataSource.query(`UPDATE checkpoints SET transaction_id = '0', position = 0 WHERE name = 'relay:jetstream'`);
  await relayAll(upcasting);

  expect(await verifyAgainstCopies(upcasting, nc, { signingKey: KEY })).toEqual(
    expect.objectContaining({ relayed: 6, difference: null, anchorProblems: [] }),
  );
  await rewriteEvent(db.dataSource, streams[0], 3, { i: 0, n: 2, bound_to: 'elsewhere' });
  expect((await verifyAgainstCopies(upcasting, nc, { signingKey: KEY })).difference).toEqual(
    expect.objectContaining({
      streamId: streams[0],
      version: 3,
      problem: 'differs from its JetStream copy: data, hash',
    }),
  );
});

it('a tail deleted from the log and from JetStream too is still found by the anchors', async () => {
  await history(anchorer());
  // An attacker with NATS credentials as well, but not the key, removes the last event's copy.
  const jsm = await jetstreamManager(nc);
  const { state } = await jsm.streams.info(EVENTS_STREAM);
  await jsm.streams.deleteMessage(EVENTS_STREAM, state.last_seq);
  await deleteNewestEvents(db.dataSource, 1);
  expect((await verifyEventLog(db.dataSource)).breaks).toEqual([]);

  const result = await verifyAgainstCopies(store, nc, { signingKey: KEY });
  expect(result).toEqual(expect.objectContaining({ events: 8, relayed: 8, difference: null }));
  expect(result.anchorProblems).toEqual([
    expect.objectContaining({ sequence: 3, events: 9, problem: expect.stringMatching(/the log holds 8$/) }),
  ]);
});
