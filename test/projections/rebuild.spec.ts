import { randomUUID } from 'node:crypto';
import type { CyborgEvent } from '@cyborg/contracts';
import { type AppendRequest, compareCheckpoints, type EventStore } from '@cyborg/event-store';
import { Projections, type RebuildProgress, readModelProjections } from '@cyborg/projections';
import { bindOps, eventually, http, novaFor, userOf } from '../arqs/support';
import { TestSystem } from '../support/system';
import { committedHead, dumpTables, emptyCopies, inSchema, readLog } from './support';

/**
 * A blue/green rebuild of every read model while Nova-like clients run ARQ
 * lifecycles, profiles come and go and a device is disabled and enabled, all
 * through the API, and readers poll it. The API's own projections stay
 * active in their runner the whole time; the rebuild coordinates with them.
 */
let system: TestSystem;
let store: EventStore<CyborgEvent>;
let observer: Projections;
const hostname = `rebuild-${randomUUID().slice(0, 6)}`;
const project = 'project-r';
const tables = readModelProjections.flatMap((p) => p.tables);
let fakeRp: string;
let gpuUuid: string;
let profile: string;
let devicesOnHost: number;

const call = <T = unknown>(method: string, path: string, options: Parameters<typeof http>[3] = {}) =>
  http<T>(system.apiUrl, method, path, options);

const dumpLive = () => dumpTables(system.db.dataSource, 'public', tables);

/** History to rebuild from: profiles created and deleted, as a busy cloud leaves behind. */
async function appendHistory(profiles: number): Promise<void> {
  for (let i = 0; i < profiles; i += 50) {
    const requests = Array.from({ length: Math.min(50, profiles - i) }, (): AppendRequest<CyborgEvent> => {
      const uuid = randomUUID();
      const created = { uuid, name: `old-${uuid}`, description: null, groups: [{ 'resources:FPGA': '1' }] };
      return {
        streamId: `device_profile-${uuid}`,
        expectedVersion: 0,
        events: [
          { type: 'DeviceProfileCreated', data: { ...created, createdAt: new Date().toISOString() } },
          { type: 'DeviceProfileDeleted', data: { uuid, name: created.name } },
        ],
      };
    });
    await store.append(requests);
  }
}

/** One ARQ through its life as Nova drives it: create, bind, wait for Bound, delete. */
async function lifecycle(): Promise<void> {
  const created = await call<{ arqs: { uuid: string }[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });
  expect(created.status).toBe(201);
  const arq = created.body.arqs[0].uuid;
  const bound = await call('PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(hostname, fakeRp, randomUUID()) },
    headers: novaFor(project),
  });
  expect(bound.status).toBe(202);
  await eventually(async () => {
    const { body } = await call<{ state: string }>('GET', `/v2/accelerator_requests/${arq}`, {
      headers: userOf(project),
    });
    return body.state === 'Bound' || body.state === 'BindFailed' ? body.state : undefined;
  });
  const deleted = await call('DELETE', `/v2/accelerator_requests?arqs=${arq}`, { headers: novaFor(project) });
  expect(deleted.status).toBe(204);
}

/** Other writes the read models follow: a profile created and deleted, a device disabled and enabled. */
async function otherWrites(): Promise<void> {
  const name = `p-${randomUUID().slice(0, 8)}`;
  const created = await call<{ uuid: string }>('POST', '/v2/device_profiles', {
    json: [{ name, groups: [{ 'resources:FPGA': '1' }] }],
  });
  expect(created.status).toBe(201);
  expect((await call('DELETE', `/v2/device_profiles/${name}`)).status).toBe(204);
  expect((await call('POST', `/v2/devices/${gpuUuid}/disable`)).status).toBe(200);
  expect((await call('POST', `/v2/devices/${gpuUuid}/enable`)).status).toBe(200);
}

beforeAll(async () => {
  system = await TestSystem.start({
    name: 'rebuild',
    hostname,
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  store = system.store;
  observer = new Projections(readModelProjections, store, {
    dataSource: system.db.dataSource,
    databaseUrl: system.db.url,
  });

  fakeRp = await eventually(async () => {
    const { body } = await call<{ deployables: { rp_uuid: string }[] }>(
      'GET',
      `/v2/deployables?filters.field=name&filters.value=${hostname}_FakeDevice`,
    );
    return body.deployables[0]?.rp_uuid;
  });
  const devices = await call<{ devices: { uuid: string; type: string }[] }>('GET', `/v2/devices?hostname=${hostname}`);
  devicesOnHost = devices.body.devices.length;
  gpuUuid = devices.body.devices.find((d) => d.type === 'GPU')!.uuid;
  profile = `dp-${randomUUID().slice(0, 8)}`;
  const created = await call('POST', '/v2/device_profiles', {
    json: [{ name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] }],
  });
  expect(created.status).toBe(201);

  await appendHistory(3000);
  for (let i = 0; i < 5; i++) await lifecycle();
  expect(await observer.waitFor(await committedHead(system.db.dataSource), 60_000)).toBe(true);
}, 120_000);

afterAll(() => system?.close());

it('rebuilds every read model during live traffic, the API answering throughout, into the rows of a fresh rebuild', async () => {
  let running = true;
  const finished: number[] = [];
  const reads: { path: string; status: number; count: number }[] = [];
  const writers = Array.from({ length: 3 }, async (_, i) => {
    while (running) {
      await (i === 2 ? otherWrites() : lifecycle());
      finished.push(Date.now());
    }
  });
  const readers = Array.from({ length: 2 }, async () => {
    const paths = [
      `/v2/devices?hostname=${hostname}`,
      '/v2/deployables',
      '/v2/device_profiles',
      '/v2/accelerator_requests',
    ];
    while (running) {
      for (const path of paths) {
        const answer = await call<Record<string, unknown[]>>('GET', path, {
          headers: path.includes('accelerator') ? userOf(project) : {},
        });
        const list = answer.body && Object.values(answer.body).find(Array.isArray);
        reads.push({ path, status: answer.status, count: list ? list.length : -1 });
      }
    }
  });
  await new Promise((r) => setTimeout(r, 300)); // traffic under way before the rebuild starts

  const progress: RebuildProgress[] = [];
  const startedAt = Date.now();
  const headAtStart = await store.head();
  const result = await observer.rebuild(undefined, {
    batchSize: 100,
    onProgress: (p) => progress.push(p),
  });
  const endedAt = Date.now();
  running = false;
  await Promise.all([...writers, ...readers]);

  // Traffic ran through the whole rebuild, and what it wrote while the rebuild caught up went into the new tables.
  expect(finished.filter((t) => t > startedAt && t < endedAt).length).toBeGreaterThanOrEqual(3);
  expect(compareCheckpoints(result.checkpoint, headAtStart)).toBeGreaterThan(0);
  expect(progress.map((p) => p.phase)).toEqual(expect.arrayContaining(['catching-up', 'indexing', 'swapping', 'done']));
  expect(result.eventsRead).toBeGreaterThan(6000);

  // The API answered every read, and never with an empty read model.
  expect(reads.length).toBeGreaterThan(20);
  expect(reads.filter((r) => r.status !== 200)).toEqual([]);
  expect(reads.filter((r) => r.path.startsWith('/v2/devices') && r.count !== devicesOnHost)).toEqual([]);
  expect(reads.filter((r) => r.path === '/v2/deployables' && r.count === 0)).toEqual([]);
  expect(reads.filter((r) => r.path === '/v2/device_profiles' && r.count === 0)).toEqual([]);

  // The API's live runner carried on from the swapped checkpoint into the new tables.
  const head = await committedHead(system.db.dataSource);
  expect(await observer.waitFor(head, 30_000)).toBe(true);
  const live = await dumpLive();
  expect(live).toContain(profile);

  // A fresh rebuild, with nothing else running, gives the same bytes...
  await observer.rebuild();
  expect(await observer.waitFor(head, 30_000)).toBe(true);
  expect(await dumpLive()).toBe(live);

  // ...and so does applying the log one event at a time into empty tables.
  const events = await readLog(store, { transactionId: '0', position: 0 }, head);
  await emptyCopies(system.db.dataSource, 'one_by_one', readModelProjections);
  for (const projection of readModelProjections) {
    for (const event of events.filter((e) => projection.eventTypes.includes(e.type))) {
      await inSchema(system.db.dataSource, 'one_by_one', (tx) => projection.apply(event, tx));
    }
  }
  expect(await dumpTables(system.db.dataSource, 'one_by_one', tables)).toBe(live);
}, 180_000);
