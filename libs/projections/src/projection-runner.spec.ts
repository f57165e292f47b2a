import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { type Checkpoint, type EventLike, EventStore, type RecordedEvent } from '@cyborg/event-store';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import type { Projection } from './projection';
import { Projections } from './projection-runner';
import { databaseMigrations } from './schema';

let db: TestDatabase;
let store: EventStore;

/** Counts events per stream: enough to show double or missed application. */
function countingProjection(
  onApply?: (event: RecordedEvent, tx: EntityManager) => Promise<void>,
): Projection<EventLike> {
  return {
    name: 'counts',
    eventTypes: ['Counted'],
    tables: ['test_counts'],
    async apply(event, tx) {
      await onApply?.(event, tx);
      await tx.query(
        `INSERT INTO test_counts (stream_id, n, last_version, sum) VALUES ($1, 1, $2, $3)
         ON CONFLICT (stream_id) DO UPDATE SET n = test_counts.n + 1, last_version = $2, sum = test_counts.sum + $3`,
        [event.streamId, event.version, event.data.value],
      );
    },
  };
}

async function dump(): Promise<string> {
  const rows = await db.dataSource.query(`SELECT * FROM test_counts ORDER BY stream_id`);
  return JSON.stringify(rows);
}

/** Appends and returns where the last event sits, which readers then wait for. */
async function appendMany(streams: number, perStream: number): Promise<Checkpoint> {
  let last: Checkpoint | null = null;
  for (let s = 0; s < streams; s++) {
    const streamId = `counter-${randomUUID()}`;
    ({ checkpoint: last } = await store.append([
      {
        streamId,
        expectedVersion: 0,
        events: Array.from({ length: perStream }, (_, i) => ({
          type: i % 5 === 4 ? 'Ignored' : 'Counted',
          data: { value: i },
        })),
      },
    ]));
  }
  if (!last) throw new Error('nothing appended');
  return last;
}

beforeAll(async () => {
  db = await createTestDatabase({ migrations: databaseMigrations });
  store = new EventStore(db.dataSource);
  await db.dataSource.query(
    `CREATE TABLE test_counts (stream_id text PRIMARY KEY, n int NOT NULL, last_version int NOT NULL, sum bigint NOT NULL)`,
  );
});
afterAll(() => db.drop());

beforeEach(async () => {
  await db.dataSource.query(`TRUNCATE test_counts`);
  await db.dataSource.query(`DELETE FROM checkpoints`);
  await db.dataSource.query(`DELETE FROM projection_rebuilds`);
});

it('resumes after its session is killed mid-batch, and then equals a rebuild from zero', async () => {
  const end = await appendMany(40, 25); // 1000 events, 800 of them counted
  let killed = false;
  let applied = 0;
  const projection = countingProjection(async (_event, tx) => {
    applied++;
    if (!killed && applied === 150) {
      killed = true;
      // The batch's own database session dies halfway through its transaction.
      await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
    }
  });
  const projections = new Projections([projection], store, {
    dataSource: db.dataSource,
    databaseUrl: db.url,
    pollIntervalMs: 20,
  });
  await projections.start();
  expect(await projections.waitFor(end, 20_000)).toBe(true);
  await projections.stop();

  expect(killed).toBe(true);
  const afterCrash = await dump();
  const totals = await db.dataSource.query(`SELECT sum(n)::int AS n FROM test_counts`);
  expect(totals[0].n).toBe(800);
  const [status] = await projections.status();
  expect(status.eventsHandled).toBe(800);
  expect(status.lag).toBe(0);

  // Blue/green: the new table is built beside the live one and swapped in, equal to it.
  const rebuilt = await projections.rebuild('counts');
  expect(rebuilt.eventsApplied).toEqual({ counts: 800 });
  expect(await dump()).toBe(afterCrash);
  const [after] = await projections.status();
  expect(after).toMatchObject({ eventsHandled: 800, lag: 0, rebuilding: false, rebuild: { state: 'done' } });
});

it('runs one active instance of a projection across runners, applying each event once', async () => {
  await appendMany(20, 10);
  const a = new Projections([countingProjection()], store, {
    dataSource: db.dataSource,
    databaseUrl: db.url,
    pollIntervalMs: 20,
  });
  const b = new Projections([countingProjection()], store, {
    dataSource: db.dataSource,
    databaseUrl: db.url,
    pollIntervalMs: 20,
  });
  await a.start();
  await b.start();
  const written = await appendMany(20, 10);
  expect(await a.waitFor(written, 20_000)).toBe(true);
  const active = [a.runner('counts')!.isActive, b.runner('counts')!.isActive];
  expect(active.filter(Boolean)).toHaveLength(1);

  // The active one stops: the other takes over and carries on from the checkpoint.
  const [first, second] = active[0] ? [a, b] : [b, a];
  await first.stop();
  const more = await appendMany(5, 10);
  expect(await second.waitFor(more, 20_000)).toBe(true);
  expect(second.runner('counts')!.isActive).toBe(true);
  await second.stop();

  const totals = await db.dataSource.query(`SELECT sum(n)::int AS n FROM test_counts`);
  const counted = await db.dataSource.query(`SELECT count(*)::int AS n FROM events WHERE type = 'Counted'`);
  expect(totals[0].n).toBe(counted[0].n);
  expect(totals[0].n).toBeGreaterThanOrEqual(45 * 8);
});

it('lets a writer read its own write: waitFor returns once the read model has the event', async () => {
  const projections = new Projections([countingProjection()], store, {
    dataSource: db.dataSource,
    databaseUrl: db.url,
    pollIntervalMs: 1000,
  });
  await projections.start();
  const streamId = `counter-${randomUUID()}`;
  const { checkpoint } = await store.append([
    { streamId, expectedVersion: 0, events: [{ type: 'Counted', data: { value: 7 } }] },
  ]);
  expect(await projections.waitFor(checkpoint, 5000)).toBe(true);
  const rows = await db.dataSource.query(`SELECT n, sum FROM test_counts WHERE stream_id = $1`, [streamId]);
  expect(rows).toEqual([{ n: 1, sum: '7' }]);
  await projections.stop();
});

it("is woken by another process's append through NOTIFY, without waiting for its poll", async () => {
  // Stores that share no wake-ups stand for two processes: no in-process wake-up reaches this runner.
  const elsewhere = new EventStore(db.dataSource, undefined, { processWakeUps: false });
  const local = new EventStore(db.dataSource, undefined, { processWakeUps: false });
  const projections = new Projections([countingProjection()], local, {
    dataSource: db.dataSource,
    databaseUrl: db.url,
    pollIntervalMs: 60_000,
  });
  await projections.start();
  await projections.waitFor(await appendMany(1, 1), 70_000); // the first poll happens at start
  const streamId = `counter-${randomUUID()}`;
  const { checkpoint } = await elsewhere.append([
    { streamId, expectedVersion: 0, events: [{ type: 'Counted', data: { value: 1 } }] },
  ]);
  const started = Date.now();
  expect(await projections.waitFor(checkpoint, 10_000)).toBe(true);
  expect(Date.now() - started).toBeLessThan(5_000);
  await projections.stop();
});
