import type { CyborgEvent } from '@cyborg/contracts';
import { randomUUID } from 'node:crypto';
import { AuditLog, historyOf, readEvents, usageOf } from '@cyborg/audit';
import { ArqCreated, type ArqCreatedV1, eventSchemas, Streams } from '@cyborg/contracts';
import {
  decideCreateArqs,
  DomainError,
  evolveArq,
  evolveDeviceProfile,
  fold,
  initialArqState,
  initialDeviceProfileState,
} from '@cyborg/domain';
import { EventStore, EventTypeRegistry, type RecordedEvent, verifyEventLog } from '@cyborg/event-store';
import { arqsProjection, databaseMigrations, type Projection, Projections } from '@cyborg/projections';
import { eventually } from '../arqs/support';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * Event evolution, on the real example: ArqCreated v1 (as written before
 * schema 2) appended as it was, then read as v2 everywhere, through the
 * registry every service builds from `eventSchemas`: the store, aggregates,
 * a projection, and the audit queries. The rows themselves never change.
 */
let db: TestDatabase;
let store: EventStore<CyborgEvent>;
let log: AuditLog;
const project = 'project-evolution';
const hostname = 'compute-evolution';
const arqSingle = randomUUID();
const arqMixed = randomUUID();
const fpgaDevice = randomUUID();
const qatDevice = randomUUID();
const fpgaDeployable = randomUUID();
const qatDeployable = randomUUID();
const createdAt = '2026-11-20T08:00:00.000Z';

const createdV1 = (uuid: string, group: Record<string, string>): ArqCreatedV1 => ({
  uuid,
  deviceProfileUuid: randomUUID(),
  deviceProfileName: 'old-profile',
  deviceProfileGroupId: 0,
  deviceProfileGroup: group,
  projectId: project,
  createdAt,
});

/** The bind events of an ARQ holding a handle of `deployable` on `device`. */
const bindEvents = (uuid: string, device: string, deployable: string) => [
  {
    type: 'ArqBindStarted',
    data: {
      uuid,
      attempt: 1,
      hostname,
      deviceRpUuid: randomUUID(),
      instanceUuid: randomUUID(),
      projectId: project,
      attachHandle: {
        uuid: randomUUID(),
        type: 'PCI',
        info: '{"bus": "5e"}',
        deployableUuid: deployable,
        deployableName: `${hostname}_${deployable}`,
        deviceUuid: device,
        driverName: 'intel',
      },
      deadline: '2026-11-20T08:01:00.000Z',
    },
  },
  {
    type: 'ArqBound',
    data: { uuid, attempt: 1, attachHandleUuid: randomUUID(), attachHandleType: 'PCI', attachHandleInfo: '{}' },
  },
];

const device = (uuid: string, type: string, pci: string) => ({
  type: 'DeviceAdded',
  data: {
    hostname,
    uuid,
    controlPath: `PCI:${pci}`,
    controlPathId: { type: 'PCI', info: { domain: '0000', bus: pci.slice(5, 7), device: '00', function: '0' } },
    type,
    vendor: '8086',
    model: type,
    stdBoardInfo: null,
    vendorBoardInfo: null,
    driverName: 'intel',
  },
});

const rc = (deployableUuid: string, value: string) => ({
  type: 'AttributeAdded',
  data: { hostname, uuid: randomUUID(), deployableUuid, key: 'rc', value, source: 'agent' },
});

beforeAll(async () => {
  db = await createTestDatabase({ migrations: databaseMigrations });
  // The registry every service builds: ArqCreated is at schema version 2.
  store = new EventStore(db.dataSource, EventTypeRegistry.from(eventSchemas));
  log = new AuditLog(store, db.dataSource);
  // Appends the shapes as the code of their time wrote them, older schemas included.
  const raw: EventStore = store;
  await raw.append([
    {
      streamId: Streams.host(hostname),
      expectedVersion: 0,
      events: [
        device(fpgaDevice, 'FPGA', '0000:5e:00.0'),
        device(qatDevice, 'QAT', '0000:3d:00.0'),
        rc(fpgaDeployable, 'FPGA'),
        rc(qatDeployable, 'CUSTOM_QAT'),
      ],
    },
  ]);
  // Appended as the code before schema 2 wrote them: version 1, no resource class.
  for (const [uuid, group] of [
    [arqSingle, { 'resources:FPGA': '1', 'trait:CUSTOM_FPGA_INTEL': 'required' }],
    [arqMixed, { 'resources:FPGA': '1', 'resources:CUSTOM_QAT': '1' }],
  ] as const) {
    await raw.append([
      {
        streamId: Streams.arq(uuid),
        expectedVersion: 0,
        events: [{ type: ArqCreated.type, schemaVersion: 1, data: { ...createdV1(uuid, group) } }],
      },
    ]);
  }
  await raw.append([
    { streamId: Streams.arq(arqSingle), expectedVersion: 1, events: bindEvents(arqSingle, fpgaDevice, fpgaDeployable) },
  ]);
  await raw.append([
    { streamId: Streams.arq(arqMixed), expectedVersion: 1, events: bindEvents(arqMixed, qatDevice, qatDeployable) },
  ]);
});

afterAll(() => db?.drop());

it('keeps the v1 rows as they were written', async () => {
  const rows: { schema_version: number; data: Record<string, unknown> }[] = await db.dataSource.query(
    `SELECT schema_version, data FROM events WHERE type = 'ArqCreated' ORDER BY position`,
  );
  expect(rows.map((r) => r.schema_version)).toEqual([1, 1]);
  expect(rows.every((r) => !('resourceClass' in r.data))).toBe(true);
});

it('reads them as v2 through the store: the one class of the group, or null where v1 could not say', async () => {
  const [single] = await store.readStream(Streams.arq(arqSingle));
  expect(single).toMatchObject({
    schemaVersion: 2,
    data: {
      ...createdV1(arqSingle, { 'resources:FPGA': '1', 'trait:CUSTOM_FPGA_INTEL': 'required' }),
      deviceProfileUuid: expect.any(String),
      resourceClass: 'FPGA',
    },
  });
  const [mixed] = await store.readStream(Streams.arq(arqMixed));
  expect(mixed).toMatchObject({ schemaVersion: 2, data: { resourceClass: null } });
  // What projections and the relay read: the whole log in order.
  const all = await store.readAll({ types: [ArqCreated.type] });
  expect(
    all.events.map((e) => [e.schemaVersion, 'resourceClass' in e.data ? e.data.resourceClass : undefined]),
  ).toEqual([
    [2, 'FPGA'],
    [2, null],
  ]);
});

it('folds them into the aggregate with the new field', async () => {
  const state = fold(await store.readStream(Streams.arq(arqSingle)), evolveArq, initialArqState);
  expect(state.arq).toMatchObject({ state: 'Bound', resourceClass: 'FPGA' });
});

it('hands them to projections as v2', async () => {
  const seen: RecordedEvent[] = [];
  const recording: Projection = {
    name: 'evolution-test',
    eventTypes: [ArqCreated.type],
    tables: [],
    async apply(event) {
      seen.push(event);
    },
  };
  const projections = new Projections([arqsProjection, recording], store, {
    dataSource: db.dataSource,
    databaseUrl: db.url,
    pollIntervalMs: 50,
  });
  await projections.start();
  try {
    expect(await projections.waitFor(await store.head(), 15_000)).toBe(true);
  } finally {
    await projections.stop();
  }
  expect(seen.map((e) => [e.data.uuid, e.schemaVersion, e.data.resourceClass])).toEqual([
    [arqSingle, 2, 'FPGA'],
    [arqMixed, 2, null],
  ]);
  const rows: { uuid: string; state: string; project_id: string; created_at: Date }[] = await db.dataSource.query(
    `SELECT uuid, state, project_id, created_at FROM arqs ORDER BY id`,
  );
  expect(rows).toEqual([
    { uuid: arqSingle, state: 'Bound', project_id: project, created_at: new Date(createdAt) },
    { uuid: arqMixed, state: 'Bound', project_id: project, created_at: new Date(createdAt) },
  ]);
});

it('shows them as v2 in the audit: events, history and usage by resource class', async () => {
  // The audit reads the log gap-free: once no transaction older than these appends is still open.
  const last: { position: string }[] = await db.dataSource.query(`SELECT max(position) AS position FROM events`);
  await eventually(async () => ((await store.head()).position >= Number(last[0].position) ? true : undefined));
  const read = await readEvents(log, { streams: [Streams.arq(arqSingle)], types: [ArqCreated.type] }, { limit: 10 });
  expect(read.events).toHaveLength(1);
  expect(read.events[0]).toMatchObject({ schema_version: 2, data: { resourceClass: 'FPGA' } });
  expect(read.events[0].summary).toContain('(FPGA)');

  const history = await historyOf(log, 'arq', arqSingle);
  expect(history!.entries[0]).toMatchObject({
    type: 'ArqCreated',
    schema_version: 2,
    changes: { resource_class: { from: null, to: 'FPGA' } },
  });

  // The mixed group's ARQ names no class: usage takes it from the deployable it holds.
  const usage = await usageOf(log, { since: new Date(Date.now() - 3_600_000), until: new Date() });
  expect(usage.projects).toHaveLength(1);
  expect(usage.projects[0].resources.map((r) => [r.resource_class, r.device_type, r.accelerators_held])).toEqual([
    ['CUSTOM_QAT', 'QAT', 1],
    ['FPGA', 'FPGA', 1],
  ]);
});

it('writes new ArqCreated events at v2, each ARQ of a mixed group with its own class; every chain still verifies', async () => {
  const profile = fold(
    [
      {
        type: 'DeviceProfileCreated',
        data: {
          uuid: randomUUID(),
          name: 'mixed',
          description: null,
          groups: [{ 'resources:FPGA': '1', 'resources:CUSTOM_QAT': '1' }],
          createdAt,
        },
      },
    ],
    evolveDeviceProfile,
    initialDeviceProfileState,
  );
  const uuids = [randomUUID(), randomUUID()];
  const arqs = decideCreateArqs(
    { deviceProfileName: 'mixed', projectId: project, now: new Date().toISOString(), uuids, maxArqs: 10 },
    profile,
  );
  if (arqs instanceof DomainError) throw new Error(arqs.message);
  for (const arq of arqs)
    await store.append([{ streamId: Streams.arq(arq.uuid), expectedVersion: 0, events: arq.events }]);
  const rows: { schema_version: number; resource_class: string }[] = await db.dataSource.query(
    `SELECT schema_version, data->>'resourceClass' AS resource_class FROM events
     WHERE type = 'ArqCreated' AND stream_id = ANY($1::text[]) ORDER BY position`,
    [uuids.map(Streams.arq)],
  );
  expect(rows).toEqual([
    { schema_version: 2, resource_class: 'FPGA' },
    { schema_version: 2, resource_class: 'CUSTOM_QAT' },
  ]);
  expect((await verifyEventLog(db.dataSource)).breaks).toEqual([]);
});
