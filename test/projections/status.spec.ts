import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { type CyborgEvent, eventSchemas } from '@cyborg/contracts';
import { type Checkpoint, EventStore, EventTypeRegistry } from '@cyborg/event-store';
import {
  databaseMigrations,
  Projections,
  type ProjectionStatus,
  RebuildInProgressError,
  readModelProjections,
} from '@cyborg/projections';
import { eventually } from '../arqs/support';
import { Cli } from '../audit/cli';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { dumpTables } from './support';

let db: TestDatabase;
let store: EventStore<CyborgEvent>;
/** The service's projections: started, so one instance of each is active. */
let live: Projections;
/** Another process's view (the CLI's): never started. */
let observer: Projections;
let cli: Cli;

beforeAll(async () => {
  // The failing batches below are expected: their warnings would only fill the output.
  Logger.overrideLogger(quietLogger);
  db = await createTestDatabase({ migrations: databaseMigrations });
  store = new EventStore(db.dataSource, EventTypeRegistry.from(eventSchemas));
  live = new Projections(readModelProjections, store, {
    dataSource: db.dataSource,
    databaseUrl: db.url,
    pollIntervalMs: 20,
  });
  await live.start();
  observer = new Projections(readModelProjections, store, { dataSource: db.dataSource, databaseUrl: db.url });
  cli = await Cli.build({ DATABASE_URL: db.url, LOG_LEVEL: 'error' });
}, 120_000);

afterAll(async () => {
  await live?.stop();
  await cli?.remove();
  await db?.drop();
});

/** Device profiles appended as the conductor records them, one append each; returns where the last one sits. */
async function createProfiles(...names: string[]): Promise<Checkpoint> {
  let last: Checkpoint | null = null;
  for (const name of names) {
    const uuid = randomUUID();
    ({ checkpoint: last } = await store.append([
      {
        streamId: `device_profile-${uuid}`,
        expectedVersion: 0,
        events: [
          {
            type: 'DeviceProfileCreated',
            data: {
              uuid,
              name,
              description: null,
              groups: [{ 'resources:FPGA': '1' }],
              createdAt: new Date().toISOString(),
            },
          },
        ],
      },
    ]));
  }
  return last!;
}

const statusOf = async (name: string, projections = observer): Promise<ProjectionStatus> =>
  (await projections.status()).find((s) => s.name === `projection:${name}`)!;

describe('projections status', () => {
  it('shows every projection at the head of the log: no lag, an active instance, no error', async () => {
    const last = await createProfiles('status-a', 'status-b', 'status-c');
    expect(await observer.waitFor(last, 20_000)).toBe(true);

    const statuses = await observer.status();
    expect(statuses.map((s) => s.name)).toEqual([
      'projection:device_profiles',
      'projection:inventory',
      'projection:arqs',
    ]);
    for (const s of statuses) {
      // The instance is active in the service, not here: the lock says so, wherever it is held.
      expect(s).toMatchObject({ active: true, lag: 0, lastError: null, rebuilding: false, rebuild: null });
      expect(s.checkpoint).toEqual(last);
    }
    expect(statuses[0].eventsHandled).toBe(3);

    const json = await cli.run(['projections', 'status', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(statuses)));
    const text = await cli.run(['projections', 'status']);
    expect(text.code).toBe(0);
    const [header, ...rows] = text.stdout.trim().split('\n');
    expect(header).toMatch(/^PROJECTION\s+POSITION\s+LAG\s+EVENTS\s+ACTIVE\s+REBUILD\s+LAST ERROR$/);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 5))).toEqual(
      ['device_profiles', 'inventory', 'arqs'].map((name, i) => [
        name,
        String(last.position),
        '0',
        String(statuses[i].eventsHandled),
        'yes',
      ]),
    );
  });

  it('shows the lag and the error of a batch that fails, and clears them once the projection recovers', async () => {
    // The read model refuses one profile: its batch fails, is retried, and the projection waits there.
    await db.dataSource.query(`ALTER TABLE device_profiles ADD CONSTRAINT no_poison CHECK (name <> 'poison')`);
    await createProfiles('poison', 'after-1', 'after-2', 'after-3');

    const failing = await eventually(async () => {
      const s = await statusOf('device_profiles');
      return s.lastError && s.lag === 4 ? s : undefined;
    });
    expect(failing.lastError).toMatch(/no_poison/);
    expect(failing.lastErrorAt).toBeInstanceOf(Date);
    // The others follow other event types and went past these events.
    expect(await statusOf('inventory')).toMatchObject({ lag: 0, lastError: null });

    const text = await cli.run(['projections', 'status']);
    const line = text.stdout.split('\n').find((l) => l.startsWith('device_profiles'))!;
    expect(line).toMatch(/^device_profiles\s+\d+\s+4\s+3\s+yes\s+-\s+\S+Z .*no_poison/);
    const json = JSON.parse((await cli.run(['projections', 'status', '--json'])).stdout);
    expect(json[0]).toMatchObject({
      name: 'projection:device_profiles',
      lag: 4,
      lastError: expect.stringMatching(/no_poison/),
    });

    await db.dataSource.query(`ALTER TABLE device_profiles DROP CONSTRAINT no_poison`);
    const recovered = await eventually(async () => {
      const s = await statusOf('device_profiles');
      return s.lag === 0 ? s : undefined;
    });
    expect(recovered).toMatchObject({ lastError: null, lastErrorAt: null, eventsHandled: 7 });
  });
});

describe('projections rebuild', () => {
  it('shows a rebuild while it runs, refuses a second one at the same time, and records how it ended', async () => {
    const last = await createProfiles(...Array.from({ length: 300 }, (_, i) => `many-${i}`));
    expect(await observer.waitFor(last, 20_000)).toBe(true);
    const before = await dumpTables(db.dataSource, 'public', ['device_profiles']);

    let during: Promise<ProjectionStatus[]> | null = null;
    let second: Promise<unknown> | null = null;
    const result = await observer.rebuild(undefined, {
      batchSize: 20,
      onProgress: (p) => {
        if (p.phase !== 'catching-up' || during) return;
        during = observer.status();
        second = observer.rebuild('device_profiles').catch((error: unknown) => error);
      },
    });
    expect(await second).toBeInstanceOf(RebuildInProgressError);
    const seen = await during!;
    for (const s of seen) {
      expect(s).toMatchObject({ rebuilding: true, active: true, rebuild: { state: 'running', finishedAt: null } });
    }

    expect(result.projections).toEqual(['device_profiles', 'inventory', 'arqs']);
    expect(result.eventsApplied.device_profiles).toBe(307);
    expect(await observer.waitFor(last, 20_000)).toBe(true);
    expect(await dumpTables(db.dataSource, 'public', ['device_profiles'])).toBe(before);
    for (const s of await observer.status()) {
      expect(s).toMatchObject({
        rebuilding: false,
        lag: 0,
        rebuild: { state: 'done', phase: 'done', eventsRead: result.eventsRead, lastError: null },
      });
      expect(s.rebuild!.finishedAt).toBeInstanceOf(Date);
    }

    // The CLI: one projection, as JSON; a name it does not know is the operator's mistake (exit 2).
    const one = await cli.run(['projections', 'rebuild', 'device_profiles', '--json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({
      projections: ['device_profiles'],
      eventsApplied: { device_profiles: 307 },
    });
    const plain = await cli.run(['projections', 'rebuild', 'inventory']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^rebuilt inventory: \d+ log events in/);
    // Not a terminal: progress as plain lines on stderr.
    expect(plain.stderr).toMatch(/^rebuild inventory: \d+% preparing/m);
    expect(plain.stderr).toMatch(/^rebuild inventory: 100% done/m);
    const unknown = await cli.run(['projections', 'rebuild', 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no projection named nosuch \(known: device_profiles, inventory, arqs\)/);
    expect(await dumpTables(db.dataSource, 'public', ['device_profiles'])).toBe(before);
  });

  it('records a rebuild that fails, and leaves the live read model as it was', async () => {
    // Rows already there stay; the new table, built from the log, meets the poison profile and fails.
    await db.dataSource.query(
      `ALTER TABLE device_profiles ADD CONSTRAINT no_poison CHECK (name <> 'poison') NOT VALID`,
    );
    const before = await dumpTables(db.dataSource, 'public', ['device_profiles']);
    await expect(observer.rebuild('device_profiles')).rejects.toThrow(/no_poison/);

    const s = await statusOf('device_profiles');
    expect(s).toMatchObject({ rebuilding: false, lag: 0, rebuild: { state: 'failed', phase: 'catching-up' } });
    expect(s.rebuild!.lastError).toMatch(/no_poison/);
    expect(await dumpTables(db.dataSource, 'public', ['device_profiles'])).toBe(before);
    const schemas = await db.dataSource.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'projection_%'`);
    expect(schemas).toEqual([]);
    await db.dataSource.query(`ALTER TABLE device_profiles DROP CONSTRAINT no_poison`);
  });

  it('keeps the grants of the live tables, for services that connect as another role', async () => {
    const role = `cyborg_test_reader_${randomUUID().slice(0, 8)}`;
    await db.dataSource.query(`CREATE ROLE ${role}`);
    try {
      await db.dataSource.query(`GRANT SELECT ON device_profiles TO ${role}`);
      await observer.rebuild('device_profiles');
      const [granted] = await db.dataSource.query(
        `SELECT has_table_privilege($1, 'device_profiles', 'SELECT') AS can_read,
                has_table_privilege($1, 'device_profiles', 'INSERT') AS can_write`,
        [role],
      );
      expect(granted).toEqual({ can_read: true, can_write: false });
    } finally {
      await db.dataSource.query(`DROP OWNED BY ${role}`);
      await db.dataSource.query(`DROP ROLE ${role}`);
    }
  });

  it('fails, rather than undo it, when a migration changes a table during the rebuild', async () => {
    let migrated: Promise<unknown> | null = null;
    const rebuilding = observer.rebuild('device_profiles', {
      batchSize: 20,
      onProgress: (p) => {
        if (p.phase === 'catching-up' && !migrated) {
          migrated = db.dataSource.query(`ALTER TABLE device_profiles ADD COLUMN note text`);
        }
      },
    });
    await expect(rebuilding).rejects.toThrow(/device_profiles changed during the rebuild/);
    await migrated;
    const columns = await db.dataSource.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'device_profiles' AND column_name = 'note'`,
    );
    expect(columns).toHaveLength(1);
    expect((await statusOf('device_profiles')).rebuild).toMatchObject({ state: 'failed', phase: 'swapping' });
    await db.dataSource.query(`ALTER TABLE device_profiles DROP COLUMN note`);
  });
});
