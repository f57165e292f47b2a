import type { RunningService } from '@cyborg/config';
import { Streams } from '@cyborg/contracts';
import { evolveQuota, fold, initialQuotaState } from '@cyborg/domain';
import { KeystoneSession, limitsSessionOptions, UnifiedLimits } from '@cyborg/keystone';
import { loadSettings } from '@cyborg/config';
import { startConductor } from '../../apps/conductor/src/start';
import { type ArqBody, fault, http, unique, userOf } from '../arqs/support';
import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../support/keystone';
import { quietLogger } from '../support/logger';
import { TestSystem } from '../support/system';

/**
 * ARQ quota from Keystone's unified limits, counted and decided by the
 * conductors from the log: a real Keystone holding registered and project
 * limits for the `accelerator` service, the whole system over real
 * PostgreSQL and NATS, with two conductors sharing the work.
 */
let keystone: TestKeystone;
let system: TestSystem;
let second: RunningService;
let api: string;
let acceleratorServiceId: string;
let demo: string;
let other: string;
let fpga1: string;
let fpga2: string;
let pgpu1: string;
let otherLimitId: string;

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(api, method, path, options);

async function createProfile(groups: Record<string, string>[]): Promise<string> {
  const name = unique('dp');
  expect((await call('POST', '/v2/device_profiles', { json: [{ name, groups }] })).status).toBe(201);
  return name;
}

const createArqs = (profile: string, project: string) =>
  call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });

async function registerLimit(resource: string, defaultLimit: number): Promise<void> {
  const answer = await keystone.request('POST', '/registered_limits', {
    registered_limits: [{ service_id: acceleratorServiceId, resource_name: resource, default_limit: defaultLimit }],
  });
  expect(answer.status).toBe(201);
}

async function projectLimit(project: string, resource: string, limit: number): Promise<string> {
  const answer = await keystone.request('POST', '/limits', {
    limits: [{ service_id: acceleratorServiceId, project_id: project, resource_name: resource, resource_limit: limit }],
  });
  expect(answer.status).toBe(201);
  return (answer.body as { limits: { id: string }[] }).limits[0].id;
}

/** The project's quota stream, folded: what the conductors decide on. */
async function inUse(project: string): Promise<Record<string, number>> {
  return fold(await system.store.readStream(Streams.quota(project)), evolveQuota, initialQuotaState).inUse;
}

/** ARQs of a project in the log (created and not deleted), by reading every ARQ stream. */
async function arqsInLog(project: string): Promise<number> {
  const rows: { n: string }[] = await system.db.dataSource.query(
    `SELECT count(*) AS n FROM events c WHERE c.type = 'ArqCreated' AND c.data->>'projectId' = $1
       AND NOT EXISTS (SELECT 1 FROM events d WHERE d.stream_id = c.stream_id AND d.type = 'ArqDeleted')`,
    [project],
  );
  return Number(rows[0].n);
}

const settleCache = () => new Promise((r) => setTimeout(r, 1100));

beforeAll(async () => {
  keystone = await TestKeystone.start();
  // As oslo.limit asks: the service user reads every project's limits with reader on the system.
  const roles = (await keystone.request('GET', '/roles?name=reader')).body as { roles: { id: string }[] };
  const granted = await keystone.request(
    'PUT',
    `/system/users/${keystone.personas.cyborg.userId}/roles/${roles.roles[0].id}`,
  );
  expect(granted.status).toBe(204);
  const services = (await keystone.request('GET', '/services?type=accelerator')).body as { services: { id: string }[] };
  acceleratorServiceId = services.services[0].id;
  demo = keystone.projects.demo.id;
  other = keystone.projects.other.id;
  await registerLimit('class:FPGA', 4);
  otherLimitId = await projectLimit(other, 'class:FPGA', 1);

  const settings = {
    // Quota is the conductor's, read from Keystone; the API's token checks are keystone-api.spec.ts's, so callers here are headers.
    AUTH_STRATEGY: 'noauth',
    KEYSTONE_AUTH_URL: keystone.authUrl,
    SERVICE_USERNAME: 'cyborg',
    SERVICE_PASSWORD: 'cyborg-password',
    SERVICE_PROJECT_NAME: 'service',
    QUOTA_LIMITS_CACHE_SECONDS: '1',
  };
  system = await TestSystem.start({ name: 'quota', hostname: unique('quota'), settings });
  second = await startConductor(system.settings(), quietLogger);
  api = system.apiUrl;
  fpga1 = await createProfile([{ 'resources:FPGA': '1' }]);
  fpga2 = await createProfile([{ 'resources:FPGA': '2' }]);
  pgpu1 = await createProfile([{ 'resources:PGPU': '1' }]);
}, KEYSTONE_START_TIMEOUT_MS + 60_000);

afterAll(async () => {
  await second?.close();
  await system?.close();
  await keystone?.stop();
});

describe('limits from Keystone', () => {
  it('reads registered limits, overridden by project limits, with a system-scoped service user', async () => {
    const settings = loadSettings({ KEYSTONE_AUTH_URL: keystone.authUrl, SERVICE_PASSWORD: 'cyborg-password' });
    const limits = new UnifiedLimits({ session: new KeystoneSession(limitsSessionOptions(settings).options) });
    expect([...(await limits.forProject(demo))]).toEqual([['class:FPGA', 4]]);
    expect([...(await limits.forProject(other))]).toEqual([['class:FPGA', 1]]);
    const calls = limits.stats.keystoneCalls;
    await limits.forProject(other);
    expect(limits.stats.keystoneCalls).toBe(calls);
  });
});

describe('ARQ creation under quota', () => {
  it('20 concurrent creates against a limit of 4, over two conductors, leave exactly 4 ARQs', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => createArqs(fpga1, demo)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(4);
    expect(statuses.filter((s) => s === 403)).toHaveLength(16);
    for (const refused of answers.filter((a) => a.status === 403)) {
      expect(fault(refused)).toBe('Quota exceeded for class:FPGA: requested 1, in use 4, limit 4');
    }
    expect(await arqsInLog(demo)).toBe(4);
    expect(await inUse(demo)).toEqual({ 'class:FPGA': 4 });
  });

  it('a delete frees its unit; asking for more than is left is refused whole, saying by how much', async () => {
    const listed = await call<{ arqs: ArqBody[] }>('GET', '/v2/accelerator_requests', { headers: userOf(demo) });
    const [first] = listed.body.arqs;
    expect((await call('DELETE', `/v2/accelerator_requests/${first.uuid}`, { headers: userOf(demo) })).status).toBe(
      204,
    );
    expect(await inUse(demo)).toEqual({ 'class:FPGA': 3 });

    const refused = await createArqs(fpga2, demo);
    expect(refused.status).toBe(403);
    expect(fault(refused)).toBe('Quota exceeded for class:FPGA: requested 2, in use 3, limit 4');
    expect(await arqsInLog(demo)).toBe(3);

    expect((await createArqs(fpga1, demo)).status).toBe(201);
    expect(await inUse(demo)).toEqual({ 'class:FPGA': 4 });
  });

  it("a project limit overrides the registered one, and a raised limit counts once the cache's second has passed", async () => {
    expect((await createArqs(fpga1, other)).status).toBe(201);
    const refused = await createArqs(fpga1, other);
    expect(fault(refused)).toBe('Quota exceeded for class:FPGA: requested 1, in use 1, limit 1');
    const raised = await keystone.request('PATCH', `/limits/${otherLimitId}`, { limit: { resource_limit: 3 } });
    expect(raised.status).toBe(200);
    await settleCache();
    expect((await createArqs(fpga2, other)).status).toBe(201);
    expect(await inUse(other)).toEqual({ 'class:FPGA': 3 });
  });

  it('a resource class without a registered limit is unlimited, and still counted', async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => createArqs(pgpu1, demo)));
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(201));
    expect(await inUse(demo)).toEqual({ 'class:FPGA': 4, 'class:PGPU': 6 });
  });

  it('a registered limit added later applies to what is already counted', async () => {
    await registerLimit('class:PGPU', 6);
    await settleCache();
    const refused = await createArqs(pgpu1, demo);
    expect(fault(refused)).toBe('Quota exceeded for class:PGPU: requested 1, in use 6, limit 6');
  });

  it('GET /v2/usage shows usage beside the limit: a project its own, the admin every project', async () => {
    const mine = await call<{ quota: unknown[] }>('GET', '/v2/usage', { headers: userOf(demo) });
    expect(mine.status).toBe(200);
    expect(mine.body.quota).toEqual([
      { project_id: demo, resource: 'class:FPGA', in_use: 4, limit: 4 },
      { project_id: demo, resource: 'class:PGPU', in_use: 6, limit: 6 },
    ]);
    const all = await call<{ quota: { project_id: string; resource: string }[] }>('GET', '/v2/usage');
    expect(all.status).toBe(200);
    expect(all.body.quota).toEqual(
      expect.arrayContaining([
        { project_id: other, resource: 'class:FPGA', in_use: 3, limit: 3 },
        { project_id: other, resource: 'class:PGPU', in_use: 0, limit: 6 },
        { project_id: demo, resource: 'class:FPGA', in_use: 4, limit: 4 },
      ]),
    );
  });
});
