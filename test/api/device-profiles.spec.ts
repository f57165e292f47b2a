import { randomUUID } from 'node:crypto';
import { createLogger, loadSettings, type RunningService } from '@cyborg/config';
import type { CyborgEvent } from '@cyborg/contracts';
import { EventStore } from '@cyborg/event-store';
import { deviceProfilesProjection, Projections } from '@cyborg/projections';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestNatsServer } from '../support/nats-server';

/**
 * Device profiles end to end: HTTP → NATS → conductor → event log →
 * projection → HTTP, against Cyborg's wire contract (§2, §4, §11).
 */
let db: TestDatabase;
let nats: TestNatsServer;
let api: string;
const services: RunningService[] = [];

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

async function http(
  method: string,
  path: string,
  options: { json?: unknown; raw?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] = 'application/json';
  }
  if (options.raw !== undefined) {
    body = options.raw;
    headers['Content-Type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${api}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
}

/** The faultstring inside Cyborg's double-encoded error body. */
function fault(answer: Answer): string {
  const { error_message } = answer.body as { error_message: string };
  return (JSON.parse(error_message) as { faultstring: string }).faultstring;
}

interface Profile {
  uuid: string;
  name: string;
  description: string | null;
  groups: Record<string, string>[];
  created_at: string;
  updated_at: string | null;
  links: { href: string; rel: string }[];
}

const fpga = { 'resources:FPGA': '1', 'trait:CUSTOM_FPGA_INTEL_PAC_ARRIA10': 'required' };
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const V22 = { 'OpenStack-API-Version': 'accelerator 2.2' };

async function create(profile: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Profile> {
  const answer = await http('POST', '/v2/device_profiles', { json: [profile], headers });
  expect(answer.status).toBe(201);
  return answer.body as Profile;
}

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  const settings = loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    LOG_LEVEL: 'warn',
    PROJECTION_POLL_MS: '50',
  });
  services.push(await startConductor(settings, createLogger('conductor', settings)));
  const running = await startApi(settings, createLogger('api', settings));
  services.push(running);
  api = running.url;
});

afterAll(async () => {
  for (const service of services.reverse()) await service.close();
  await nats?.destroy();
  await db?.drop();
});

describe('creating', () => {
  it("takes Cyborg's one-element list and answers 201 with the profile, flat", async () => {
    const name = unique('afexample');
    const answer = await http('POST', '/v2/device_profiles', {
      json: [{ name, description: 'device profile description', groups: [fpga], created_at: 'ignored' }],
    });
    expect(answer.status).toBe(201);
    const profile = answer.body as Profile;
    expect(profile).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      name,
      description: 'device profile description',
      groups: [fpga],
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
      updated_at: null,
      links: [{ href: `${api}/accelerator/v2/device_profiles/${profile.uuid}`, rel: 'self' }],
    });
    expect(Object.keys(profile)).toEqual([
      'uuid',
      'name',
      'description',
      'groups',
      'created_at',
      'updated_at',
      'links',
    ]);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('openstack-api-version')).toBe('accelerator 2.0');
    expect(answer.headers.get('x-openstack-request-id')).toMatch(/^req-/);
  });

  it('takes a plain object too, and stores values as strings with normalised keys', async () => {
    const name = unique('object-form');
    const answer = await http('POST', '/v2/device_profiles', {
      json: {
        name,
        description: null,
        groups: [{ 'resources: GPU ': 2, 'trait:  CUSTOM_X': 'forbidden', 'accel:function_id': 7 }],
      },
    });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      name,
      description: null,
      groups: [{ 'resources:GPU': '2', 'trait:CUSTOM_X': 'forbidden', 'accel:function_id': '7' }],
    });
  });

  it('keeps a client-chosen uuid, and refuses it a second time with 409', async () => {
    const uuid = randomUUID();
    const profile = await create({ uuid: uuid.toUpperCase(), name: unique('chosen'), groups: [fpga] });
    expect(profile.uuid).toBe(uuid);
    const again = await http('POST', '/v2/device_profiles', {
      json: [{ uuid, name: unique('other'), groups: [fpga] }],
    });
    expect(again.status).toBe(409);
    expect(fault(again)).toBe(`DeviceProfile with uuid ${uuid} already exists.`);
  });

  it("refuses a name that is taken with Cyborg's 409", async () => {
    const name = unique('taken');
    await create({ name, groups: [fpga] });
    const answer = await http('POST', '/v2/device_profiles', { json: [{ name, groups: [fpga] }] });
    expect(answer.status).toBe(409);
    expect(fault(answer)).toBe(`A device_profile with name ${name} already exists.`);
    expect(JSON.parse((answer.body as { error_message: string }).error_message)).toEqual({
      faultcode: 'Client',
      faultstring: `A device_profile with name ${name} already exists.`,
      debuginfo: null,
    });
  });

  it.each([2, 6])('lets exactly one of %i concurrent creates of one name win; the others get 409', async (n) => {
    const name = unique('race');
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        http('POST', '/v2/device_profiles', { json: [{ name, description: `racer ${i}`, groups: [fpga] }] }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, ...Array<number>(n - 1).fill(409)]);
    for (const loser of answers.filter((a) => a.status === 409)) {
      expect(fault(loser)).toBe(`A device_profile with name ${name} already exists.`);
    }
    const winner = answers.find((a) => a.status === 201)?.body as Profile;
    const listed = await http('GET', `/v2/device_profiles?name=${name}`);
    expect(listed.body).toEqual({ device_profiles: [winner] });
  });

  it('answers 201 for two concurrent creates of different names', async () => {
    const answers = await Promise.all([
      http('POST', '/v2/device_profiles', { json: [{ name: unique('pair-a'), groups: [fpga] }] }),
      http('POST', '/v2/device_profiles', { json: [{ name: unique('pair-b'), groups: [fpga] }] }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([201, 201]);
  });

  it('takes a name of 255 characters, and deletes it by name', async () => {
    const name = `${unique('long')}-${'n'.repeat(255)}`.slice(0, 255);
    const profile = await create({ name, groups: [fpga] });
    expect((await http('GET', `/v2/device_profiles/${name}`, { headers: V22 })).body).toEqual({
      device_profile: profile,
    });
    expect((await http('POST', '/v2/device_profiles', { json: [{ name, groups: [fpga] }] })).status).toBe(409);
    expect((await http('DELETE', `/v2/device_profiles/${name}`)).status).toBe(204);
  });

  it('records who asked on the events, from the identity headers', async () => {
    const profile = await create(
      { name: unique('audited'), groups: [fpga] },
      // Creating device profiles is the admin's, on a project-scoped token.
      {
        'X-User-Id': 'user-1',
        'X-Project-Id': 'project-1',
        'X-Roles': 'admin, member,reader',
      },
    );
    const [event] = await new EventStore(db.dataSource).readStream(`device_profile-${profile.uuid}`);
    expect(event.type).toBe('DeviceProfileCreated');
    expect(event.metadata).toMatchObject({
      userId: 'user-1',
      projectId: 'project-1',
      roles: ['admin', 'member', 'reader'],
      systemScope: null,
      requestId: expect.stringMatching(/^req-/),
    });
  });

  it('takes a retried request with the same Idempotency-Key once, and refuses the key for another body', async () => {
    const key = randomUUID();
    const body = { name: unique('idempotent'), groups: [fpga] };
    const first = await create(body, { 'Idempotency-Key': key });
    const second = await create(body, { 'Idempotency-Key': key });
    expect(second).toEqual(first);
    const other = await http('POST', '/v2/device_profiles', {
      json: [{ ...body, name: unique('different') }],
      headers: { 'Idempotency-Key': key },
    });
    expect(other.status).toBe(422);
  });

  describe("refuses bad input with 400 and Cyborg's faultstring", () => {
    const cases: [string, unknown, string][] = [
      [
        'two profiles in one list',
        [
          { name: 'a', groups: [fpga] },
          { name: 'b', groups: [fpga] },
        ],
        'Only one device profile allowed per POST request for now.',
      ],
      ['an empty list', [], 'Only one device profile allowed per POST request for now.'],
      ['no name (Cyborg: 500)', [{ groups: [fpga] }], 'DeviceProfile name needed.'],
      [
        'a bad name',
        [{ name: 'bad name!', groups: [fpga] }],
        'Device profile name must be of the form ^[a-zA-Z0-9-_]+$',
      ],
      [
        'a name over 255 (Cyborg: 500)',
        [{ name: 'n'.repeat(256), groups: [fpga] }],
        'Device profile name must be at most 255 characters long.',
      ],
      ['no groups (Cyborg: 500)', [{ name: 'x' }], 'DeviceProfile needs groups field.'],
      ['empty groups (Cyborg: 500)', [{ name: 'x', groups: [] }], 'DeviceProfile needs groups field.'],
      [
        'a bad key prefix',
        [{ name: 'x', groups: [{ 'resource:FPGA': '1' }] }],
        'Device profile group keys must be of the form ^(resources:|trait:|accel:)',
      ],
      [
        'a trait not CUSTOM_',
        [{ name: 'x', groups: [{ 'trait:HW_GPU_API_CUDA': 'required' }] }],
        'Unsupported trait name format HW_GPU_API_CUDA, should start with CUSTOM_',
      ],
      [
        'a bad trait value',
        [{ name: 'x', groups: [{ 'trait:CUSTOM_X': 'maybe' }] }],
        "Unsupported trait value maybe, the value must be one among ['required', 'forbidden']",
      ],
      [
        'an unknown resource class',
        [{ name: 'x', groups: [{ 'resources:TPU': '1' }] }],
        'Unsupported resource class TPU',
      ],
      [
        'a bad resource amount',
        [{ name: 'x', groups: [{ 'resources:FPGA': 'lots' }] }],
        'Resources number lots is invalid',
      ],
      ['a bad uuid', [{ uuid: 'xyz', name: 'x', groups: [fpga] }], 'Expected a uuid but received xyz.'],
      ['a list of something else', ['fpga'], 'The request body must be a device profile, or a list holding one.'],
    ];
    it.each(cases)('%s', async (_what, body, message) => {
      const answer = await http('POST', '/v2/device_profiles', { json: body });
      expect(answer.status).toBe(400);
      expect(fault(answer)).toBe(message);
      expect(answer.headers.get('openstack-api-version')).toBe('accelerator 2.0');
    });

    it('unparsable JSON', async () => {
      const answer = await http('POST', '/v2/device_profiles', { raw: '[{"name": ' });
      expect(answer.status).toBe(400);
      expect(fault(answer)).toBe('Request is not in valid JSON format');
    });

    it('a body that is not JSON at all: 415', async () => {
      const answer = await http('POST', '/v2/device_profiles', { raw: 'name=x', contentType: 'text/plain' });
      expect(answer.status).toBe(415);
      expect(fault(answer)).toBe('Unknown mimetype: text/plain');
    });
  });
});

describe('reading', () => {
  let first: Profile;
  let second: Profile;
  beforeAll(async () => {
    first = await create({ name: unique('read-1'), description: 'first', groups: [fpga] });
    second = await create({ name: unique('read-2'), groups: [{ 'resources:CUSTOM_ACCELERATOR_FPGA': '2' }] });
  });

  it('gets one by uuid, wrapped, right after its 201 (read-your-writes)', async () => {
    const answer = await http('GET', `/v2/device_profiles/${first.uuid}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ device_profile: first });
    expect(answer.headers.get('openstack-api-minimum-version')).toBe('2.0');
    expect(answer.headers.get('openstack-api-maximum-version')).toBe('2.4');
    expect(answer.headers.get('openstack-api-version')).toBe('accelerator 2.0');
    expect(answer.headers.get('vary')).toMatch(/OpenStack-API-Version/);
  });

  it('gets one by a uuid spelt without dashes or in capitals', async () => {
    const answer = await http('GET', `/v2/device_profiles/${first.uuid.replace(/-/g, '').toUpperCase()}`);
    expect(answer.body).toEqual({ device_profile: first });
  });

  it('gets one by name from microversion 2.2, in either header form', async () => {
    for (const version of ['accelerator 2.2', '2.2', 'accelerator latest', 'compute 2.1, accelerator 2.3']) {
      const answer = await http('GET', `/v2/device_profiles/${second.name}`, {
        headers: { 'OpenStack-API-Version': version },
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ device_profile: second });
    }
    const latest = await http('GET', `/v2/device_profiles/${second.name}`, {
      headers: { 'OpenStack-API-Version': 'latest' },
    });
    expect(latest.headers.get('openstack-api-version')).toBe('accelerator 2.4');
  });

  it('refuses a name below 2.2 with 406', async () => {
    for (const headers of [{}, { 'OpenStack-API-Version': 'accelerator 2.1' }] as Record<string, string>[]) {
      const answer = await http('GET', `/v2/device_profiles/${second.name}`, { headers });
      expect(answer.status).toBe(406);
      expect(fault(answer)).toBe('Request not acceptable. The minimal required API version should be 2.2');
    }
  });

  it('answers 404 for an unknown uuid or name', async () => {
    const uuid = randomUUID();
    const byUuid = await http('GET', `/v2/device_profiles/${uuid}`);
    expect(byUuid.status).toBe(404);
    expect(fault(byUuid)).toBe(`Device Profile not found with uuid=${uuid}`);
    const byName = await http('GET', '/v2/device_profiles/no-such-profile', { headers: V22 });
    expect(byName.status).toBe(404);
    expect(fault(byName)).toBe('Device Profile not found with name=no-such-profile');
  });

  it('lists in creation order, filtered by exact names', async () => {
    const all = await http('GET', '/v2/device_profiles');
    expect(all.status).toBe(200);
    const listed = (all.body as { device_profiles: Profile[] }).device_profiles;
    const positions = [first, second].map((p) => listed.findIndex((l) => l.uuid === p.uuid));
    expect(positions[0]).toBeGreaterThanOrEqual(0);
    expect(positions[1]).toBeGreaterThan(positions[0]);
    expect(listed[positions[0]]).toEqual(first);

    const filtered = await http('GET', `/v2/device_profiles?name=${second.name},${first.name},nope`);
    expect(filtered.body).toEqual({ device_profiles: [first, second] });
    const none = await http('GET', '/v2/device_profiles?name=nope');
    expect(none.body).toEqual({ device_profiles: [] });
  });

  it('refuses unknown query parameters with 400', async () => {
    const answer = await http('GET', '/v2/device_profiles?sort_key=name');
    expect(answer.status).toBe(400);
    expect(fault(answer)).toBe('Unknown argument: "sort_key"');
    const one = await http('GET', `/v2/device_profiles/${first.uuid}?fields=name`);
    expect(fault(one)).toBe('Unknown argument: "fields"');
  });

  it('serves the unversioned alias like /v2', async () => {
    const answer = await http('GET', `/device_profiles/${first.uuid}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ device_profile: first });
    expect(answer.headers.get('openstack-api-version')).toBe('accelerator 2.0');
  });

  describe("refuses a bad OpenStack-API-Version with 406 and Cyborg's message", () => {
    const range = 'The supported version range is: [2.0, 2.4].';
    const cases: [string, string, boolean][] = [
      [
        'accelerator 2.5',
        `Version 2.5 was requested but the minor version is not supported by this service. ${range}`,
        true,
      ],
      [
        '3.0',
        `Mutually exclusive versions requested. Version 3.0 requested but not supported by this service. ${range}`,
        true,
      ],
      ['10', 'Invalid value for OpenStack-API-Version header', false],
      ['compute 2.1', 'Invalid value for OpenStack-API-Version header', false],
    ];
    it.each(cases)('%s', async (header, message, withRange) => {
      const answer = await http('GET', '/v2/device_profiles', { headers: { 'OpenStack-API-Version': header } });
      expect(answer.status).toBe(406);
      expect(fault(answer)).toBe(message);
      expect(answer.headers.get('openstack-api-maximum-version')).toBe(withRange ? '2.4' : null);
    });
  });
});

describe('deleting', () => {
  it('deletes by uuid: 204, empty, and then 404', async () => {
    const profile = await create({ name: unique('del-uuid'), groups: [fpga] });
    const answer = await http('DELETE', `/v2/device_profiles/${profile.uuid}`);
    expect(answer.status).toBe(204);
    expect(answer.text).toBe('');
    expect((await http('GET', `/v2/device_profiles/${profile.uuid}`)).status).toBe(404);
    const again = await http('DELETE', `/v2/device_profiles/${profile.uuid}`);
    expect(again.status).toBe(404);
    expect(fault(again)).toBe(`Device Profile not found with uuid=${profile.uuid}`);
  });

  it('deletes by name, and the name can be used again', async () => {
    const name = unique('del-name');
    const before = await create({ name, groups: [fpga] });
    expect((await http('DELETE', `/v2/device_profiles/${name}`)).status).toBe(204);
    expect((await http('GET', `/v2/device_profiles/${before.uuid}`)).status).toBe(404);
    const after = await create({ name, groups: [fpga] });
    expect(after.uuid).not.toBe(before.uuid);
    expect((await http('GET', `/v2/device_profiles/${name}`, { headers: V22 })).body).toEqual({
      device_profile: after,
    });
  });

  it('deletes several by name in the path or in ?value=', async () => {
    const [a, b, c, d] = await Promise.all(
      ['a', 'b', 'c', 'd'].map((x) => create({ name: unique(`del-${x}`), groups: [fpga] })),
    );
    expect((await http('DELETE', `/v2/device_profiles/${a.name},${b.name}`)).status).toBe(204);
    expect((await http('DELETE', `/v2/device_profiles?value=${c.name},${d.uuid}`)).status).toBe(204);
    const left = await http('GET', `/v2/device_profiles?name=${[a, b, c, d].map((p) => p.name).join(',')}`);
    expect(left.body).toEqual({ device_profiles: [] });
  });

  it('deletes none when one of several is unknown, and says which (404)', async () => {
    const kept = await create({ name: unique('kept'), groups: [fpga] });
    const answer = await http('DELETE', `/v2/device_profiles?value=${kept.name},no-such-profile`);
    expect(answer.status).toBe(404);
    expect(fault(answer)).toBe('Device Profile not found with name=no-such-profile');
    expect((await http('GET', `/v2/device_profiles/${kept.uuid}`)).status).toBe(200);
  });

  it('answers 400 when no profile is named', async () => {
    for (const path of ['/v2/device_profiles', '/v2/device_profiles/', '/v2/device_profiles?value=']) {
      const answer = await http('DELETE', path);
      expect(answer.status).toBe(400);
      expect(fault(answer)).toBe('Missing argument: "value"');
    }
    const unknown = await http('DELETE', '/v2/device_profiles?name=x');
    expect(fault(unknown)).toBe('Unknown argument: "name"');
  });
});

describe('the read model', () => {
  it('is rebuilt from the log to the same bytes', async () => {
    const dump = async (): Promise<string> => {
      const rows: { dump: string | null }[] = await db.dataSource.query(
        `SELECT json_agg(d ORDER BY created_position)::text AS dump FROM device_profiles d`,
      );
      return rows[0].dump ?? '[]';
    };
    const store = new EventStore<CyborgEvent>(db.dataSource);
    const projections = new Projections([deviceProfilesProjection], store, {
      dataSource: db.dataSource,
      databaseUrl: db.url,
    });
    const before = await dump();
    expect(before).not.toBe('[]');
    await projections.rebuild('device_profiles');
    // The API's running projection replays the log from the start.
    expect(await projections.waitFor(await store.head(), 10_000)).toBe(true);
    expect(await dump()).toBe(before);
  });
});
