import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import {
  type AppendSignal,
  type Checkpoint,
  CommandHandler,
  CommandIdReusedError,
  EventStore,
  EventTypeRegistry,
  InvalidAppendError,
  type RecordedEvent,
  verifyEventLog,
  WrongExpectedVersionError,
} from './index';

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase({ poolSize: 20 });
  store = new EventStore(db.dataSource);
});
afterAll(() => db.drop());

const id = () => randomUUID();

/** The log head once both events after `start` are readable (another database's open transaction can delay them). */
async function eventuallyVisible(start: Checkpoint): Promise<Checkpoint> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(10)) {
    const { events, checkpoint } = await store.readAll({ after: start });
    if (events.length >= 2) return checkpoint;
  }
  throw new Error('events did not become readable');
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('appending', () => {
  it('gives each stream gapless versions starting at 1 and chains their hashes', async () => {
    const stream = `arq-${id()}`;
    await store.append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'a', data: { n: 1 } }] }]);
    await store.append([
      {
        streamId: stream,
        expectedVersion: 1,
        events: [
          { type: 'b', data: { n: 2 } },
          { type: 'c', data: { n: 3 } },
        ],
      },
    ]);
    const events = await store.readStream(stream);
    expect(events.map((e) => [e.version, e.type, e.data.n])).toEqual([
      [1, 'a', 1],
      [2, 'b', 2],
      [3, 'c', 3],
    ]);
    expect(events[0].prevHash).toBeNull();
    expect(events[1].prevHash).toBe(events[0].hash);
    expect(events[2].prevHash).toBe(events[1].hash);
    expect(events[0].category).toBe('arq');
    expect(await store.streamVersion(stream)).toBe(3);
  });

  it('records who caused each event, with the request and command ids, and when', async () => {
    const stream = `device_profile-${id()}`;
    const metadata = { userId: 'u1', projectId: 'p1', roles: ['admin'], requestId: 'req-1', commandId: 'cmd-1' };
    const before = Date.now();
    await store.append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'x', data: {} }] }], metadata);
    const [event] = await store.readStream(stream);
    expect(event.metadata).toEqual(metadata);
    expect(event.occurredAt.getTime()).toBeGreaterThanOrEqual(before - 5);
  });

  it('writes several streams in one transaction, or none of them', async () => {
    const arq = `arq-${id()}`;
    const host = `host-${id()}`;
    await store.append([{ streamId: host, expectedVersion: 0, events: [{ type: 'h', data: {} }] }]);
    // The host moved on: the ARQ half must not be written either.
    await expect(
      store.append([
        { streamId: arq, expectedVersion: 0, events: [{ type: 'a', data: {} }] },
        { streamId: host, expectedVersion: 0, events: [{ type: 'h2', data: {} }] },
      ]),
    ).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect(await store.readStream(arq)).toHaveLength(0);
    expect(await store.streamVersion(arq)).toBe(0);

    const ok = await store.append([
      { streamId: arq, expectedVersion: 0, events: [{ type: 'a', data: {} }] },
      { streamId: host, expectedVersion: 1, events: [{ type: 'h2', data: {} }] },
    ]);
    expect(ok.versions).toEqual({ [arq]: 1, [host]: 2 });
    const all = [...(await store.readStream(arq)), ...(await store.readStream(host))];
    expect(new Set(all.filter((e) => e.type !== 'h').map((e) => e.transactionId)).size).toBe(1);
  });

  it('reports a typed conflict naming the stream and both versions', async () => {
    const stream = `arq-${id()}`;
    await store.append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'a', data: {} }] }]);
    const error = await store
      .append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'a', data: {} }] }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({
      streamId: stream,
      expectedVersion: 0,
      actualVersion: 1,
      code: 'wrong_expected_version',
    });
  });

  it('refuses malformed appends before touching the database', async () => {
    await expect(store.append([{ streamId: 'no category', expectedVersion: 0, events: [] }])).rejects.toBeInstanceOf(
      InvalidAppendError,
    );
    const s = `arq-${id()}`;
    await expect(
      store.append([
        { streamId: s, expectedVersion: 0, events: [{ type: 'a', data: {} }] },
        { streamId: s, expectedVersion: 0, events: [{ type: 'a', data: {} }] },
      ]),
    ).rejects.toBeInstanceOf(InvalidAppendError);
  });
});

describe('chain heads cached per stream', () => {
  const chainOf = async (stream: string) => {
    const events = await store.readStream(stream);
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    events.forEach((e, i) => expect(e.prevHash).toBe(i === 0 ? null : events[i - 1].hash));
    return events;
  };

  it('appends with one statement and no transaction of its own when the head is known', async () => {
    const stream = `arq-${id()}`;
    await store.append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'a', data: {} }] }]);
    const statements: string[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
      statements.push(String(text).trim().split(/\s+/).slice(0, 4).join(' '));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await store.append([{ streamId: stream, expectedVersion: 1, events: [{ type: 'b', data: {} }] }]);
    } finally {
      pg.Client.prototype.query = query;
    }
    // Besides the wake-up for other processes' readers, sent after the commit.
    const append = statements.filter((s) => !s.startsWith("SELECT set_config('synchronous_commit'"));
    expect(append).toEqual(['SELECT * FROM append_to_streams($1::text[],']);
    await chainOf(stream);
  });

  it('chains correctly after another writer (another process) moved the stream, from a stale cached head', async () => {
    const stream = `host-${id()}`;
    const elsewhere = new EventStore(db.dataSource);
    await store.append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'a', data: {} }] }]);
    await elsewhere.append([{ streamId: stream, expectedVersion: 1, events: [{ type: 'b', data: {} }] }]);
    // This store's head says version 1; the stream is at 2.
    const error = await store
      .append([{ streamId: stream, expectedVersion: 1, events: [{ type: 'c', data: {} }] }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ streamId: stream, expectedVersion: 1, actualVersion: 2 });
    await store.append([{ streamId: stream, expectedVersion: 2, events: [{ type: 'c', data: {} }] }]);
    await elsewhere.append([{ streamId: stream, expectedVersion: 'any', events: [{ type: 'd', data: {} }] }]);
    await store.append([{ streamId: stream, expectedVersion: 'any', events: [{ type: 'e', data: {} }] }]);
    expect((await chainOf(stream)).map((e) => e.type)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect((await verifyEventLog(db.dataSource)).breaks).toEqual([]);
  });

  it('recovers from a head cached by an append whose transaction rolled back', async () => {
    const stream = `host-${id()}`;
    await store.append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'a', data: {} }] }]);
    const qr = db.dataSource.createQueryRunner();
    await qr.connect();
    await qr.startTransaction();
    await store.appendInTransaction(qr.manager, [
      { streamId: stream, expectedVersion: 1, events: [{ type: 'rolled back', data: {} }] },
    ]);
    await qr.rollbackTransaction();
    await qr.release();
    // Another writer takes version 2 with a different event: the cached head (2, rolled back hash) is stale.
    await new EventStore(db.dataSource).append([
      { streamId: stream, expectedVersion: 1, events: [{ type: 'b', data: {} }] },
    ]);
    const result = await store.append([{ streamId: stream, expectedVersion: 2, events: [{ type: 'c', data: {} }] }]);
    expect(result.versions).toEqual({ [stream]: 3 });
    expect((await chainOf(stream)).map((e) => e.type)).toEqual(['a', 'b', 'c']);
  });

  it('writes nothing on a conflict, not even the new stream of the same append', async () => {
    const moved = `host-${id()}`;
    const fresh = `arq-${id()}`;
    await store.append([{ streamId: moved, expectedVersion: 0, events: [{ type: 'a', data: {} }] }]);
    await new EventStore(db.dataSource).append([
      { streamId: moved, expectedVersion: 1, events: [{ type: 'b', data: {} }] },
    ]);
    await expect(
      store.append([
        { streamId: fresh, expectedVersion: 0, events: [{ type: 'x', data: {} }] },
        { streamId: moved, expectedVersion: 1, events: [{ type: 'c', data: {} }] },
      ]),
    ).rejects.toBeInstanceOf(WrongExpectedVersionError);
    expect(await db.dataSource.query(`SELECT 1 FROM streams WHERE stream_id = $1`, [fresh])).toEqual([]);
    const ok = await store.append([
      { streamId: fresh, expectedVersion: 0, events: [{ type: 'x', data: {} }] },
      { streamId: moved, expectedVersion: 2, events: [{ type: 'c', data: {} }] },
    ]);
    expect(ok.versions).toEqual({ [fresh]: 1, [moved]: 3 });
    expect(new Set(ok.events.map((e) => e.transactionId)).size).toBe(1);
    await chainOf(moved);
    await chainOf(fresh);
  });

  it('answers a stale head with the current heads and changes nothing, not even a new stream', async () => {
    const moved = `host-${id()}`;
    const fresh = `arq-${id()}`;
    await store.append([{ streamId: moved, expectedVersion: 0, events: [{ type: 'a', data: {} }] }]);
    const [head] = await store.readStream(moved);
    const versionBefore = await store.head();
    const wrong = 'f'.repeat(64);
    // The statement as the store sends it, from a head with the right version and the wrong hash.
    const rows: { stream_id: string; version: string; last_hash: string | null; position: string | null }[] =
      await db.dataSource.query(
        `SELECT * FROM append_to_streams($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
           $6::integer[], $7::text[], $8::uuid[], $9::text[], $10::text[], $11::bigint[], $12::text[],
           $13::integer[], $14::jsonb[], $15::text[], $16::text[], $17::jsonb, $18::timestamptz)`,
        [
          [moved, fresh],
          ['host', 'arq'],
          [1, 0],
          [1, 0],
          [wrong, null],
          [1, 1],
          [wrong, wrong],
          [id(), id()],
          [moved, fresh],
          ['host', 'arq'],
          [2, 1],
          ['b', 'x'],
          [1, 1],
          ['{}', '{}'],
          [wrong, null],
          [wrong, wrong],
          '{}',
          new Date().toISOString(),
        ],
      );
    expect(rows.map((r) => [r.stream_id, Number(r.version), r.last_hash, r.position])).toEqual([
      [moved, 1, head.hash, null],
      [fresh, 0, null, null],
    ]);
    expect(await db.dataSource.query(`SELECT 1 FROM streams WHERE stream_id = $1`, [fresh])).toEqual([]);
    expect(await store.streamVersion(moved)).toBe(1);
    expect((await store.readAll({ after: versionBefore })).events.filter((e) => e.streamId === moved)).toEqual([]);
  });
});

describe('eight concurrent writers on one stream', () => {
  it('keep versions gapless: exactly one write wins per expected version, the rest conflict', async () => {
    const stream = `host-${id()}`;
    const wins: number[] = [];
    let conflicts = 0;
    const writer = async (w: number) => {
      for (let round = 0; round < 25; round++) {
        const expected = await store.streamVersion(stream);
        try {
          await store.append([
            { streamId: stream, expectedVersion: expected, events: [{ type: 'written', data: { w, expected } }] },
          ]);
          wins.push(expected);
        } catch (e) {
          if (!(e instanceof WrongExpectedVersionError)) throw e;
          conflicts++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    const events = await store.readStream(stream);
    expect(events.map((e) => e.version)).toEqual(events.map((_, i) => i + 1));
    // Each expected version was won exactly once.
    expect([...wins].sort((a, b) => a - b)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.data.expected)).toEqual(events.map((_, i) => i));
    expect(wins.length + conflicts).toBe(200);
    expect(conflicts).toBeGreaterThan(0);
    expect((await verifyEventLog(db.dataSource)).breaks).toEqual([]);
  });
});

describe('reading the whole log', () => {
  it('never skips an event that commits late, and every read sees the same order', async () => {
    const start = await store.head();
    // Only this test's events count: events of earlier tests can still become
    // readable after `start` while another transaction holds the snapshot back.
    const mine = `arq-late${randomUUID().slice(0, 8)}`;
    const committed = new Set<string>();
    let writing = true;
    const writer = async (w: number) => {
      for (let i = 0; i < 30; i++) {
        const qr = db.dataSource.createQueryRunner();
        await qr.connect();
        await qr.startTransaction();
        try {
          const result = await store.appendInTransaction(qr.manager, [
            { streamId: `${mine}w${w}-${id()}`, expectedVersion: 0, events: [{ type: 'e', data: { w, i } }] },
          ]);
          // Hold the transaction open so later transactions commit first.
          await sleep(Math.random() * 15);
          if (Math.random() < 0.2) {
            await qr.rollbackTransaction();
          } else {
            await qr.commitTransaction();
            committed.add(result.events[0].eventId);
          }
        } finally {
          await qr.release();
        }
      }
    };
    const seen: RecordedEvent[] = [];
    // Follows until it has read past every committed event. Snapshots are
    // cluster-wide, so another database's open transaction may delay (never
    // hide) events; the deadline only bounds the test.
    const follow = async () => {
      let checkpoint = start;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const stillWriting = writing;
        const batch = await store.readAll({ after: checkpoint, limit: 7 });
        seen.push(...batch.events.filter((e) => e.streamId.startsWith(mine)));
        checkpoint = batch.checkpoint;
        if (batch.events.length === 0) {
          const caughtUp = !stillWriting && [...committed].every((id) => seen.some((e) => e.eventId === id));
          if (caughtUp || Date.now() > deadline) return;
          await sleep(3);
        }
      }
    };
    const reader = follow();
    await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
    writing = false;
    await reader;

    const ids = seen.map((e) => e.eventId);
    expect(new Set(ids).size).toBe(ids.length); // exactly once
    expect(new Set(ids)).toEqual(committed); // every committed event, nothing rolled back
    const again = await store.readAll({ after: start, limit: 10_000 });
    const reread = again.events.filter((e) => e.streamId.startsWith(mine));
    expect(reread.map((e) => e.eventId)).toEqual(ids); // the same order on every read
  });

  it('moves its checkpoint past event types it was not asked for', async () => {
    const start = await store.head();
    await store.append([{ streamId: `arq-${id()}`, expectedVersion: 0, events: [{ type: 'skip', data: {} }] }]);
    await store.append([{ streamId: `arq-${id()}`, expectedVersion: 0, events: [{ type: 'keep', data: {} }] }]);
    const head = await eventuallyVisible(start);
    const batch = await store.readAll({ after: start, types: ['keep'] });
    expect(batch.events.map((e) => e.type)).toEqual(['keep']);
    expect(batch.checkpoint).toEqual(head);
  });
});

describe('the log cannot be changed', () => {
  it('refuses UPDATE, DELETE and TRUNCATE on events', async () => {
    await store.append([{ streamId: `arq-${id()}`, expectedVersion: 0, events: [{ type: 'a', data: {} }] }]);
    await expect(db.dataSource.query(`UPDATE events SET type = 'b'`)).rejects.toThrow(/append-only/);
    await expect(db.dataSource.query(`DELETE FROM events`)).rejects.toThrow(/append-only/);
    await expect(db.dataSource.query(`TRUNCATE events`)).rejects.toThrow(/append-only/);
  });

  it('finds a tampered event by its broken hash chain', async () => {
    const stream = `arq-${id()}`;
    await store.append([
      { streamId: stream, expectedVersion: 0, events: [1, 2, 3].map((n) => ({ type: 'a', data: { n } })) },
    ]);
    expect((await verifyEventLog(db.dataSource)).breaks).toEqual([]);
    // A superuser can bypass triggers; the chain still tells.
    const qr = db.dataSource.createQueryRunner();
    await qr.connect();
    await qr.query(`SET session_replication_role = replica`);
    await qr.query(`UPDATE events SET data = '{"n": 20}' WHERE stream_id = $1 AND version = 2`, [stream]);
    await qr.release();
    const result = await verifyEventLog(db.dataSource);
    expect(result.breaks).toEqual([
      expect.objectContaining({ streamId: stream, version: 2, problem: 'content does not match its hash' }),
    ]);
  });
});

describe('idempotent commands', () => {
  /** A stream kind whose state is its event count. */
  const counter = { initial: 0, evolve: (n: number) => n + 1 };

  it('appends nothing when a command id is replayed and returns the first result', async () => {
    const commands = new CommandHandler(store);
    const stream = `device_profile-${id()}`;
    const command = { commandId: id(), type: 'create', payload: { name: 'x' }, metadata: { userId: 'u' } };
    const run = () =>
      commands.handle(command, async (read) => {
        const { state } = await read(counter, stream);
        return {
          appends: [{ streamId: stream, events: state === 0 ? [{ type: 'created', data: { name: 'x' } }] : [] }],
          result: { uuid: stream },
        };
      });
    const first = await run();
    const replays = await Promise.all([run(), run(), run()]);
    expect(first.duplicate).toBe(false);
    for (const r of replays) {
      expect(r).toEqual({ ...first, duplicate: true });
    }
    const events = await store.readStream(stream);
    expect(events).toHaveLength(1);
    expect(events[0].metadata.commandId).toBe(command.commandId);
  });

  it("tells this process's log readers the types and checkpoint a command appended, and nothing for a replay", async () => {
    const commands = new CommandHandler(store);
    const stream = `device_profile-${id()}`;
    const command = { commandId: id(), type: 'create', payload: { name: 'y' }, metadata: {} };
    const signals: AppendSignal[] = [];
    const stop = store.onAppended((signal) => signals.push(signal));
    try {
      const run = () =>
        commands.handle(command, async (read) => {
          const { state } = await read(counter, stream);
          const events = [
            { type: 'created', data: {} },
            { type: 'renamed', data: {} },
          ];
          return { appends: [{ streamId: stream, events: state === 0 ? events : [] }], result: null };
        });
      const first = await run();
      expect(signals).toEqual([{ types: ['created', 'renamed'], checkpoint: first.checkpoint }]);
      expect((await run()).duplicate).toBe(true);
      expect(signals).toHaveLength(1);
    } finally {
      stop();
    }
  });

  it('records the command in the statement that appends its events: no other statement on the happy path', async () => {
    const commands = new CommandHandler(store);
    const stream = `device_profile-${id()}`;
    const command = { commandId: id(), type: 'create', payload: {}, metadata: {} };
    const statements: string[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
      statements.push(String(text).trim().split(/\s+/).slice(0, 4).join(' '));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await commands.handle(command, async () => ({
        appends: [{ streamId: stream, events: [{ type: 'created', data: {} }] }],
        result: null,
      }));
    } finally {
      pg.Client.prototype.query = query;
    }
    // A new stream needs no read of its head: one statement, and no SELECT of the commands table.
    const append = statements.filter((s) => !s.startsWith("SELECT set_config('synchronous_commit'"));
    expect(append).toEqual(['SELECT * FROM append_command($1::text[],']);
    const rows = await db.dataSource.query(`SELECT command_type, position FROM commands WHERE command_id = $1`, [
      command.commandId,
    ]);
    expect(rows).toEqual([{ command_type: 'create', position: expect.any(String) }]);
  });

  it('answers a replay that its first run makes impossible with the first result, not the refusal', async () => {
    const commands = new CommandHandler(store);
    const stream = `arq-${id()}`;
    const command = { commandId: id(), type: 'once', payload: {}, metadata: {} };
    const run = () =>
      commands.handle(command, async (read) => {
        const { state } = await read(counter, stream);
        if (state > 0) throw new Error('already done');
        return { appends: [{ streamId: stream, events: [{ type: 'done', data: {} }] }], result: 'first' };
      });
    const first = await run();
    await expect(run()).resolves.toEqual({ ...first, duplicate: true });
    await expect(
      commands.handle({ ...command, commandId: id() }, async (read) => {
        await read(counter, stream);
        throw new Error('already done');
      }),
    ).rejects.toThrow('already done');
  });

  it('runs concurrent duplicates once even when they append to different new streams', async () => {
    const commands = new CommandHandler(store);
    const command = { commandId: id(), type: 'create', payload: { n: 1 }, metadata: {} };
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        commands.handle(command, async () => {
          const stream = `arq-${id()}`;
          return { appends: [{ streamId: stream, events: [{ type: 'created', data: {} }] }], result: stream };
        }),
      ),
    );
    expect(new Set(outcomes.map((o) => o.result)).size).toBe(1);
    expect(outcomes.filter((o) => !o.duplicate)).toHaveLength(1);
    const rows = await db.dataSource.query(`SELECT count(*)::int AS n FROM events WHERE metadata->>'commandId' = $1`, [
      command.commandId,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it('refuses a command id reused for a different command', async () => {
    const commands = new CommandHandler(store);
    const commandId = id();
    const decide = async () => ({ appends: [], result: null });
    await commands.handle({ commandId, type: 'a', payload: { n: 1 }, metadata: {} }, decide);
    await expect(
      commands.handle({ commandId, type: 'a', payload: { n: 2 }, metadata: {} }, decide),
    ).rejects.toBeInstanceOf(CommandIdReusedError);
  });

  it('decides again after a conflict, against the reloaded stream, and then succeeds', async () => {
    const commands = new CommandHandler(store);
    const stream = `host-${id()}`;
    const bump = () =>
      commands.handle({ commandId: id(), type: 'bump', payload: {}, metadata: {} }, async (read) => {
        const { version } = await read(counter, stream);
        return { appends: [{ streamId: stream, events: [{ type: 'bumped', data: { version } }] }], result: version };
      });
    const results = await Promise.all(Array.from({ length: 8 }, bump));
    expect(await store.streamVersion(stream)).toBe(8);
    expect(results.map((r) => r.result).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('deciding on the state a handler holds', () => {
  const counter = { initial: 0, evolve: (n: number) => n + 1 };
  const bump = (commands: CommandHandler, stream: string) =>
    commands.handle({ commandId: id(), type: 'bump', payload: {}, metadata: {} }, async (read) => {
      const { version } = await read(counter, stream);
      return { appends: [{ streamId: stream, events: [{ type: 'bumped', data: { version } }] }], result: version };
    });
  /** The first words of every statement `run` sends. */
  async function statementsOf(run: () => Promise<unknown>): Promise<string[]> {
    const statements: string[] = [];
    const query = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string }).text;
      statements.push(String(text).trim().split(/\s+/).slice(0, 4).join(' '));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      await run();
    } finally {
      pg.Client.prototype.query = query;
    }
    return statements.filter((s) => !s.startsWith("SELECT set_config('synchronous_commit'"));
  }

  it('appends to a stream it appended to last without reading it again', async () => {
    const commands = new CommandHandler(store);
    const stream = `host-${id()}`;
    expect((await bump(commands, stream)).result).toBe(0);
    const statements = await statementsOf(async () => expect((await bump(commands, stream)).result).toBe(1));
    expect(statements).toEqual(['SELECT * FROM append_command($1::text[],']);
    expect(await store.streamVersion(stream)).toBe(2);
  });

  it('holds a stream it created: the next command on it reads nothing', async () => {
    const commands = new CommandHandler(store);
    const stream = `arq-${id()}`;
    await commands.handle({ commandId: id(), type: 'create', payload: {}, metadata: {} }, async () => ({
      appends: [{ streamId: stream, events: [{ type: 'created', data: {} }] }],
      result: null,
    }));
    const statements = await statementsOf(async () => expect((await bump(commands, stream)).result).toBe(1));
    expect(statements).toEqual(['SELECT * FROM append_command($1::text[],']);
    expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['created', 'bumped']);
  });

  it('conflicts on a state another process moved, then decides again on the log: two conductors on one stream', async () => {
    // Each conductor has its own store and handler; neither hears of the other's appends.
    const other = new EventStore(db.dataSource, undefined, { processWakeUps: false });
    const a = new CommandHandler(store);
    const b = new CommandHandler(other);
    const stream = `host-${id()}`;
    expect((await bump(a, stream)).result).toBe(0);
    expect((await bump(b, stream)).result).toBe(1);
    // `a` holds the stream at version 1: its append conflicts, and the decision again reads version 2.
    expect((await bump(a, stream)).result).toBe(2);
    expect((await bump(b, stream)).result).toBe(3);
    const versions = (await store.readStream(stream)).map((e) => e.data.version);
    expect(versions).toEqual([0, 1, 2, 3]);
    // The same for a stream `a` created and holds: `b` moved it since.
    const created = `arq-${id()}`;
    await a.handle({ commandId: id(), type: 'create', payload: {}, metadata: {} }, async () => ({
      appends: [{ streamId: created, events: [{ type: 'created', data: {} }] }],
      result: null,
    }));
    expect((await bump(b, created)).result).toBe(1);
    expect((await bump(a, created)).result).toBe(2);
    expect(await store.streamVersion(created)).toBe(3);
  });

  it('checks a stream it decided on from memory but does not append to: refuses on the state in the log', async () => {
    const other = new EventStore(db.dataSource, undefined, { processWakeUps: false });
    const commands = new CommandHandler(store);
    const device = `device-${id()}`;
    const host = `host-${id()}`;
    const enabled = { initial: true, evolve: (_: boolean, e: RecordedEvent) => e.type === 'enabled' };
    const take = () =>
      commands.handle({ commandId: id(), type: 'take', payload: {}, metadata: {} }, async (read) => {
        if (!(await read(enabled, device)).state) throw new Error('the device is disabled');
        const { version } = await read(counter, host);
        return { appends: [{ streamId: host, events: [{ type: 'taken', data: {} }] }], result: version };
      });
    await other.append([{ streamId: device, expectedVersion: 0, events: [{ type: 'enabled', data: {} }] }]);
    expect((await take()).result).toBe(0);
    // Another conductor disables the device; this one still holds it enabled.
    await other.append([{ streamId: device, expectedVersion: 1, events: [{ type: 'disabled', data: {} }] }]);
    await expect(take()).rejects.toThrow('the device is disabled');
    expect(await store.streamVersion(host)).toBe(1);
    // And a refusal made on a held state that is stale is decided again too.
    await other.append([{ streamId: device, expectedVersion: 2, events: [{ type: 'enabled', data: {} }] }]);
    expect((await take()).result).toBe(1);
  });
});

describe('event schema versions', () => {
  it('upcasts old events on read and stores new ones at the current version', async () => {
    const v1 = new EventStore(db.dataSource, new EventTypeRegistry().register('ArqCreated', 1));
    const stream = `arq-${id()}`;
    await v1.append([{ streamId: stream, expectedVersion: 0, events: [{ type: 'ArqCreated', data: { group: 0 } }] }]);
    const v2 = new EventStore(
      db.dataSource,
      new EventTypeRegistry().register('ArqCreated', 2, { 1: (d) => ({ ...d, groupId: d.group, group: undefined }) }),
    );
    await v2.append([{ streamId: stream, expectedVersion: 1, events: [{ type: 'ArqCreated', data: { groupId: 1 } }] }]);
    const events = await v2.readStream(stream);
    expect(events.map((e) => [e.schemaVersion, e.data.groupId])).toEqual([
      [2, 0],
      [2, 1],
    ]);
    const raw = await db.dataSource.query(`SELECT schema_version FROM events WHERE stream_id = $1 ORDER BY version`, [
      stream,
    ]);
    expect(raw.map((r: { schema_version: number }) => r.schema_version)).toEqual([1, 2]);
    expect((await verifyEventLog(db.dataSource)).breaks.filter((b) => b.streamId === stream)).toEqual([]);
  });
});
