import { type CyborgEvent, type DeviceAdded, eventSchemas } from '@cyborg/contracts';
import {
  type Checkpoint,
  type EventLike,
  EventStore,
  EventTypeRegistry,
  LOG_START,
  type RecordedEvent,
} from '@cyborg/event-store';
import {
  applyEvents,
  databaseMigrations,
  inventoryProjection,
  type Projection,
  readModelProjections,
} from '@cyborg/projections';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { appendLog, generateLog, random } from './generated-log';
import { dumpTables, emptyCopies, inSchema, readLog } from './support';

let db: TestDatabase;
let store: EventStore<CyborgEvent>;
/** Writes the generated log, whose events leave fields out as no command would. */
let writer: EventStore<EventLike>;

beforeAll(async () => {
  db = await createTestDatabase({ migrations: databaseMigrations });
  store = new EventStore(db.dataSource, EventTypeRegistry.from(eventSchemas));
  writer = new EventStore<EventLike>(db.dataSource, store.registry);
});
afterAll(() => db.drop());

const tables = readModelProjections.flatMap((p) => p.tables);

let logEnd: Checkpoint = LOG_START;

/** Appends a generated log and returns its events as the log hands them out. */
async function loggedEvents(seed: number, size: number): Promise<RecordedEvent<CyborgEvent>[]> {
  const from = logEnd;
  logEnd = await appendLog(writer, generateLog(seed, size));
  return readLog(store, from, logEnd);
}

/** What the runner hands a projection: the events of its types. */
const followed = (projection: Projection, events: readonly RecordedEvent<CyborgEvent>[]) =>
  events.filter((e) => projection.eventTypes.includes(e.type));

/** Each event alone, in turn: apply() per event, each in its own transaction. */
async function oneByOne(schema: string, events: readonly RecordedEvent<CyborgEvent>[]): Promise<string> {
  await emptyCopies(db.dataSource, schema, readModelProjections);
  for (const projection of readModelProjections) {
    for (const event of followed(projection, events)) {
      await inSchema(db.dataSource, schema, (tx) => projection.apply(event, tx));
    }
  }
  return dumpTables(db.dataSource, schema, tables);
}

/** The same events cut into batches of the sizes `cut` gives, each batch folded in one transaction. */
async function batched(
  schema: string,
  events: readonly RecordedEvent<CyborgEvent>[],
  cut: () => number,
): Promise<string> {
  await emptyCopies(db.dataSource, schema, readModelProjections);
  for (let start = 0; start < events.length;) {
    const end = Math.min(events.length, start + cut());
    const batch = events.slice(start, end);
    await inSchema(db.dataSource, schema, async (tx) => {
      for (const projection of readModelProjections) await applyEvents(projection, followed(projection, batch), tx);
    });
    start = end;
  }
  return dumpTables(db.dataSource, schema, tables);
}

describe('a fold over a batch', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])(
    'ends byte for byte where applying one by one ends (generated log, seed %i)',
    async (seed) => {
      const events = await loggedEvents(seed, 500);
      // Every event type a read model follows is in the log (a new one needs a line in generated-log.ts).
      const followedTypes = readModelProjections.flatMap((p) => p.eventTypes);
      expect(followedTypes.filter((t) => !events.some((e) => e.type === t))).toEqual([]);
      const expected = await oneByOne('one_by_one', events);
      expect(expected.length).toBeGreaterThan(1000);

      const r = random(seed * 7919);
      const sizes = [() => events.length, () => 1 + r.int(40), () => 1 + r.int(400)];
      for (const cut of sizes) expect(await batched('folded', events, cut)).toBe(expected);
    },
  );

  it('keeps what it reads back exact: microseconds, offsets, escapes and untouched columns', async () => {
    const events = await loggedEvents(99, 400);
    const expected = await oneByOne('one_by_one', events);
    // Rows written by one batch and changed by the next go through to_jsonb and back.
    expect(await batched('folded', events, () => 2)).toBe(expected);
    const created: { created_at: string }[] = await db.dataSource.query(
      `SELECT created_at::text FROM folded.arqs UNION ALL SELECT created_at::text FROM folded.device_profiles`,
    );
    expect(created.some((r) => /\.123456\+00$/.test(r.created_at))).toBe(true);

    // A column the projection does not keep survives a batch that changes its row.
    await emptyCopies(db.dataSource, 'untouched', readModelProjections);
    await db.dataSource.query(`ALTER TABLE untouched.deployables ADD COLUMN note text`);
    const seen = new Set<unknown>();
    const added = events.filter((e) => e.type === 'DeployableAdded' && !seen.has(e.data.uuid) && seen.add(e.data.uuid));
    await inSchema(db.dataSource, 'untouched', (tx) => applyEvents(inventoryProjection, added, tx));
    await db.dataSource.query(`UPDATE untouched.deployables SET note = 'kept'`);
    const later = followed(inventoryProjection, events).filter((e) => e.type === 'DeployableUpdated');
    expect(later.length).toBeGreaterThan(0);
    await inSchema(db.dataSource, 'untouched', (tx) => applyEvents(inventoryProjection, later, tx));
    const kept: { n: number }[] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM untouched.deployables WHERE note IS DISTINCT FROM 'kept'`,
    );
    expect(kept[0].n).toBe(0);
  });

  it('fails where one by one fails: a key added twice, and rolls back with its transaction', async () => {
    const events = await loggedEvents(5, 200);
    const device = events.find((e): e is RecordedEvent<DeviceAdded> => e.type === 'DeviceAdded')!;
    const again = { ...device, position: device.position + 1_000_000 };
    await emptyCopies(db.dataSource, 'twice', readModelProjections);
    const attempt = (batch: RecordedEvent<CyborgEvent>[]) =>
      inSchema(db.dataSource, 'twice', (tx) => applyEvents(inventoryProjection, batch, tx));

    await expect(attempt([device, again])).rejects.toThrow(/duplicate key/);
    await attempt([device]);
    await expect(attempt([again])).rejects.toThrow(/duplicate key/);
    await expect(
      inSchema(db.dataSource, 'twice', async (tx) => {
        for (const e of [again]) await inventoryProjection.apply(e, tx);
      }),
    ).rejects.toThrow(/duplicate key/);
    // Added again and removed within one batch: one by one fails at the add, so the batch must too.
    const removed = {
      ...again,
      type: 'DeviceRemoved' as const,
      position: again.position + 1,
      data: { uuid: device.data.uuid, hostname: device.data.hostname, controlPath: device.data.controlPath },
    };
    await expect(attempt([again, removed])).rejects.toThrow(/duplicate key/);
    const rows: { n: number }[] = await db.dataSource.query(`SELECT count(*)::int AS n FROM twice.devices`);
    expect(rows[0].n).toBe(1);
  });
});
