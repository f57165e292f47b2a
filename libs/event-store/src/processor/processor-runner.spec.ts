import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { EventStore } from '../event-store';
import type { RecordedEvent } from '../types';
import { ProcessorRunner } from './processor-runner';

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase();
  store = new EventStore(db.dataSource);
});
afterAll(() => db.drop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stored(name: string): Promise<{ position: number; handled: number }> {
  const [row] = await db.dataSource.query(`SELECT position, events_handled FROM checkpoints WHERE name = $1`, [name]);
  return { position: Number(row.position), handled: Number(row.events_handled) };
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(20)) if (await probe()) return;
  throw new Error(`${what} did not happen`);
}

describe('an external log processor (publishes outside the database)', () => {
  it('stores its checkpoint after the events it sent, never before, with the count of them', async () => {
    const name = `sender-${randomUUID().slice(0, 8)}`;
    const sent: RecordedEvent[] = [];
    const storedWhenSent: { stored: number; first: number }[] = [];
    const runner = new ProcessorRunner(
      {
        name,
        eventTypes: ['Sent'],
        delivery: 'external',
        handle: async (events) => {
          // Whatever is stored when a batch is being sent lies before it.
          storedWhenSent.push({ stored: (await stored(name)).position, first: events[0].position });
          sent.push(...events);
        },
      },
      store,
      { databaseUrl: db.url, pollIntervalMs: 200 },
    );
    await runner.start();
    try {
      const positions: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { events } = await store.append([
          { streamId: `arq-${randomUUID()}`, expectedVersion: 0, events: [{ type: 'Sent', data: { i } }] },
        ]);
        positions.push(events[0].position);
      }
      await until('every event sent', async () => sent.length === 5);
      // Stored soon after, though not with every batch: at least once, and no event is ever skipped.
      await until(
        'the checkpoint stored past the last event',
        async () => (await stored(name)).position >= positions[4],
      );
      expect((await stored(name)).handled).toBe(5);
      expect(sent.map((e) => e.data.i)).toEqual([0, 1, 2, 3, 4]);
      expect(storedWhenSent.every((s) => s.stored < s.first)).toBe(true);
    } finally {
      await runner.stop();
    }
  });

  it('leaves its checkpoint stored past what it sent once stopped', async () => {
    const name = `stopper-${randomUUID().slice(0, 8)}`;
    const sent: RecordedEvent[] = [];
    const runner = new ProcessorRunner(
      { name, eventTypes: ['Stopped'], delivery: 'external', handle: async (events) => void sent.push(...events) },
      store,
      { databaseUrl: db.url, pollIntervalMs: 60_000 },
    );
    await runner.start();
    const { events } = await store.append([
      { streamId: `arq-${randomUUID()}`, expectedVersion: 0, events: [{ type: 'Stopped', data: {} }] },
    ]);
    await until('the event sent', async () => sent.length === 1);
    await runner.stop();
    const after = await stored(name);
    expect(after.position).toBeGreaterThanOrEqual(events[0].position);
    expect(after.handled).toBe(1);
  });
});
