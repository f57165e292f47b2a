import { randomUUID } from 'node:crypto';
import { type Answer, type ArqBody, bindOps, eventually, fault, http, unbindOps, unique } from '../arqs/support';
import { KEYSTONE_START_TIMEOUT_MS, type PersonaName, TestKeystone } from '../support/keystone';
import { TestSystem } from '../support/system';
import { keystoneSettings } from './support';

/**
 * The API with AUTH_STRATEGY=keystone against a real Keystone: every
 * request's X-Auth-Token validated (401 with WWW-Authenticate when it is
 * not), identity from the token only (the identity headers a client sends
 * are ignored), X-Service-Token counted only when it is a valid service
 * token, Nova's bind with a user token plus its service token, the token's
 * identity on every event, and a revoked token refused within
 * TOKEN_CACHE_TTL_SECONDS.
 */
const TOKEN_CACHE_TTL_SECONDS = 2;
const hostname = `ks-${randomUUID().slice(0, 6)}`;
let keystone: TestKeystone;
let system: TestSystem;
const tokens = new Map<PersonaName, string>();

const tokenOf = async (persona: PersonaName): Promise<string> => {
  if (!tokens.has(persona)) tokens.set(persona, await keystone.token(persona));
  return tokens.get(persona)!;
};

const call = async <T = unknown>(
  method: string,
  path: string,
  options: { as?: PersonaName; json?: unknown; headers?: Record<string, string>; service?: PersonaName } = {},
): Promise<Answer<T>> => {
  const headers: Record<string, string> = { ...options.headers };
  if (options.as) headers['X-Auth-Token'] = await tokenOf(options.as);
  if (options.service) headers['X-Service-Token'] = await tokenOf(options.service);
  return http<T>(system.apiUrl, method, path, { json: options.json, headers });
};

/** Every identity header keystonemiddleware sets or a client could forge, claiming the most it could. */
const spoofed = (otherProject: string): Record<string, string> => ({
  'X-User-Id': 'someone-else',
  'X-User-Name': 'admin',
  'X-Project-Id': otherProject,
  'X-Project-Name': 'admin',
  'X-Tenant-Id': otherProject,
  'X-Domain-Id': 'default',
  'X-Roles': 'admin,manager,member,reader,service',
  'X-Service-Roles': 'service,admin',
  'X-Service-Identity-Status': 'Confirmed',
  'X-Identity-Status': 'Confirmed',
  'X-Is-Admin-Project': 'True',
  'OpenStack-System-Scope': 'all',
  'X-System-Scope': 'all',
});

let profile: string;
let fakeRp: string;

beforeAll(async () => {
  keystone = await TestKeystone.shared();
  system = await TestSystem.start({
    name: 'keystone-api',
    hostname,
    settings: keystoneSettings(keystone, { TOKEN_CACHE_TTL_SECONDS: String(TOKEN_CACHE_TTL_SECONDS) }),
    agentSettings: { AGENT_DRIVERS: 'fake' },
  });
  profile = unique('ks-dp');
  const made = await call('POST', '/v2/device_profiles', {
    as: 'admin',
    json: [{ name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] }],
  });
  expect(made.status).toBe(201);
  fakeRp = await eventually(async () => {
    const { body } = await call<{ deployables: { name: string; rp_uuid: string }[] }>('GET', '/v2/deployables', {
      as: 'admin',
    });
    return body.deployables.find((d) => d.name === `${hostname}_FakeDevice`)?.rp_uuid;
  }, 30_000);
}, KEYSTONE_START_TIMEOUT_MS);

afterAll(async () => {
  await system?.close();
  await keystone?.stop();
});

const createArq = async (as: PersonaName, headers: Record<string, string> = {}): Promise<ArqBody> => {
  const created = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    as,
    headers,
    json: { device_profile_name: profile },
  });
  expect(created.status).toBe(201);
  return created.body.arqs[0];
};

/** The identity recorded on an ARQ's events, read back through the audit API by the admin. */
async function recordedIdentities(uuid: string): Promise<Record<string, unknown>[]> {
  const events = await call<{ events: { type: string; metadata: Record<string, unknown> }[] }>(
    'GET',
    `/v2/events?stream=arq-${uuid}`,
    { as: 'admin' },
  );
  expect(events.status).toBe(200);
  return events.body.events.map(({ type, metadata }) => ({
    type,
    userId: metadata.userId,
    projectId: metadata.projectId,
    roles: metadata.roles,
    service: metadata.service,
  }));
}

const expect401 = (answer: Answer, why: RegExp) => {
  expect({
    status: answer.status,
    wwwAuthenticate: answer.headers.get('www-authenticate'),
    fault: fault(answer),
  }).toEqual({
    status: 401,
    wwwAuthenticate: `Keystone uri="${keystone.url}"`,
    fault: expect.stringMatching(why),
  });
};

describe('tokens', () => {
  it.each([
    ['GET', '/v2/device_profiles'],
    ['GET', '/device_profiles'],
    ['POST', '/v2/accelerator_requests'],
    ['PATCH', '/v2/accelerator_requests'],
    ['DELETE', `/v2/accelerator_requests/${randomUUID()}`],
    ['GET', '/v2/events'],
    ['GET', '/v2/no-such-thing'],
  ])('refuses %s %s without a token: 401, WWW-Authenticate, Cyborg’s shape', async (method, path) => {
    expect401(await call(method, path, { json: method === 'GET' ? undefined : {} }), /no X-Auth-Token was sent/);
  });

  it('refuses a token Keystone does not know, and never believes identity headers instead', async () => {
    expect401(
      await call('GET', '/v2/devices', { headers: { 'X-Auth-Token': 'not-a-token', ...spoofed('x') } }),
      /Keystone does not accept the X-Auth-Token/,
    );
    expect401(await call('GET', '/v2/devices', { headers: spoofed('x') }), /no X-Auth-Token/);
  });

  it('refuses an X-Service-Token that is invalid or carries no service role, as keystonemiddleware does', async () => {
    const bogus = await call('GET', '/v2/device_profiles', { as: 'member', headers: { 'X-Service-Token': 'bogus' } });
    expect401(bogus, /Keystone does not accept the X-Service-Token/);
    const notService = await call('GET', '/v2/device_profiles', { as: 'member', service: 'member' });
    expect401(notService, /the X-Service-Token carries none of the service roles/);
    expect((await call('GET', '/v2/device_profiles', { as: 'member', service: 'nova' })).status).toBe(200);
  });

  it('keeps version discovery open, as upstream’s public routes', async () => {
    for (const path of ['/', '/v2', '/v2/']) {
      const answer = await call('GET', path);
      expect({ path, status: answer.status }).toEqual({ path, status: 200 });
    }
    // Upstream's public routes allow `.json`; this API has no such document, so it is simply not found.
    expect((await call('GET', '/v2.json')).status).toBe(404);
    // Open with a bad token too: discovery comes before a client holds a good one.
    expect((await call('GET', '/', { headers: { 'X-Auth-Token': 'garbage' } })).status).toBe(200);
  });

  it(`refuses a revoked token within TOKEN_CACHE_TTL_SECONDS (${TOKEN_CACHE_TTL_SECONDS} s here)`, async () => {
    const token = await keystone.token('member');
    const as = { headers: { 'X-Auth-Token': token } };
    expect((await call('GET', '/v2/accelerator_requests', as)).status).toBe(200);
    await keystone.revoke(token);
    const refused = await eventually(
      async () => {
        const answer = await call('GET', '/v2/accelerator_requests', as);
        return answer.status === 401 ? answer : undefined;
      },
      TOKEN_CACHE_TTL_SECONDS * 1000 + 3000,
    );
    expect401(refused, /Keystone does not accept the X-Auth-Token/);
  });
});

describe('/healthz', () => {
  it('is open without a token and then says only up or down per dependency, never error text', async () => {
    for (const headers of [{}, { 'X-Auth-Token': 'garbage' }] as Record<string, string>[]) {
      const answer = await call<Record<string, unknown>>('GET', '/healthz', { headers });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        status: 'ok',
        checks: { postgres: { ok: true }, nats: { ok: true }, keystone: { ok: true }, projections: { ok: true } },
      });
    }
    const member = await call('GET', '/healthz', { as: 'member' });
    expect(member.body).toEqual(
      expect.objectContaining({ checks: expect.objectContaining({ keystone: { ok: true } }) }),
    );
    expect(member.text).not.toMatch(/latency|last_error|error"/);
  });

  it('shows the admin the detail: latencies and every projection', async () => {
    const answer = await call<{ checks: Record<string, { ok: boolean; latency_ms?: number }>; projections: unknown[] }>(
      'GET',
      '/healthz',
      { as: 'admin' },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.checks.keystone).toEqual({ ok: true, latency_ms: expect.any(Number) });
    expect(answer.body.projections.length).toBeGreaterThan(0);
    expect(answer.body.projections[0]).toEqual(expect.objectContaining({ name: expect.any(String), last_error: null }));
  });
});

describe('identity from the token only', () => {
  it('keeps a member a member of its project whatever headers it sends', async () => {
    const other = keystone.projects.other.id;
    const member = keystone.personas.member;
    // Admin-only, and devices are for managers: the forged roles do not count.
    const dp = await call('POST', '/v2/device_profiles', {
      as: 'member',
      headers: spoofed(other),
      json: [{ name: unique('forged'), groups: [{ 'resources:FPGA': '1' }] }],
    });
    expect({ status: dp.status, fault: fault(dp) }).toEqual({
      status: 403,
      fault: 'Access was denied to the following resource: cyborg:device_profile:create',
    });
    expect((await call('GET', '/v2/devices', { as: 'member', headers: spoofed(other) })).status).toBe(403);

    // Its ARQ is its own project's, recorded as the token's user and roles.
    const arq = await createArq('member', spoofed(other));
    expect(await recordedIdentities(arq.uuid)).toEqual([
      {
        type: expect.any(String),
        userId: member.userId,
        projectId: member.projectId,
        roles: expect.arrayContaining(['member', 'reader']),
        service: false,
      },
    ]);

    // Another project's ARQ stays invisible; the forged X-Project-Id does not reach it.
    const theirs = await createArq('otherMember');
    const seen = await call('GET', `/v2/accelerator_requests/${theirs.uuid}`, {
      as: 'member',
      headers: spoofed(other),
    });
    expect(seen.status).toBe(404);
    const list = await call<{ arqs: ArqBody[] }>('GET', '/v2/accelerator_requests', {
      as: 'member',
      headers: spoofed(other),
    });
    expect(list.body.arqs.map((a) => a.uuid)).toContain(arq.uuid);
    expect(list.body.arqs.map((a) => a.uuid)).not.toContain(theirs.uuid);

    // X-Service-Roles without a service token is no service token: binding stays Nova's.
    const bind = await call('PATCH', '/v2/accelerator_requests', {
      as: 'member',
      headers: spoofed(other),
      json: { [arq.uuid]: bindOps(hostname, fakeRp, randomUUID()) },
    });
    expect({ status: bind.status, fault: fault(bind) }).toEqual({
      status: 403,
      fault: expect.stringContaining('This operation requires a service token'),
    });
  });

  it('refuses a system-scoped token whatever project it claims, and records the admin’s own project', async () => {
    const system = await call('GET', '/v2/devices', { as: 'systemAdmin', headers: spoofed(keystone.projects.demo.id) });
    expect(fault(system)).toBe('Access was denied to the following resource: cyborg:device:get_all');
    const arq = await createArq('admin', { 'X-Project-Id': keystone.projects.demo.id, 'X-User-Id': 'nobody' });
    const [created] = await recordedIdentities(arq.uuid);
    expect(created).toEqual(
      expect.objectContaining({ userId: keystone.personas.admin.userId, projectId: keystone.projects.admin.id }),
    );
  });
});

describe("Nova's sequence: the user's token, plus Nova's service token to bind", () => {
  it('creates, binds, reads by instance, unbinds and deletes', async () => {
    const member = keystone.personas.member;
    const instance = randomUUID();
    // nova-api, for the user: the profile, then the ARQs.
    const profiles = await call<{ device_profiles: unknown[] }>('GET', `/v2/device_profiles?name=${profile}`, {
      as: 'member',
    });
    expect(profiles.body.device_profiles).toHaveLength(1);
    const arq = await createArq('member');

    // Binding with the user's token alone is refused; with Nova's service token it goes.
    const alone = await call('PATCH', '/v2/accelerator_requests', {
      as: 'member',
      json: { [arq.uuid]: bindOps(hostname, fakeRp, instance) },
    });
    expect(alone.status).toBe(403);
    const bind = await call('PATCH', '/v2/accelerator_requests', {
      as: 'member',
      service: 'nova',
      json: { [arq.uuid]: bindOps(hostname, fakeRp, instance) },
    });
    expect(bind.status).toBe(202);
    const bound = await eventually(async () => {
      const { body } = await call<{ arqs: ArqBody[] }>(
        'GET',
        `/v2/accelerator_requests?instance=${instance}&bind_state=resolved`,
        { as: 'member', service: 'nova' },
      );
      return body.arqs?.[0]?.state === 'Bound' ? body.arqs[0] : undefined;
    });
    expect(bound).toEqual(expect.objectContaining({ uuid: arq.uuid, instance_uuid: instance, hostname }));

    // A bound ARQ is deleted only by a service; unbind first, as Nova does on a failed boot.
    expect((await call('DELETE', `/v2/accelerator_requests/${arq.uuid}`, { as: 'member' })).status).toBe(403);
    const unbind = await call('PATCH', '/v2/accelerator_requests', {
      as: 'member',
      service: 'nova',
      json: { [arq.uuid]: unbindOps },
    });
    expect(unbind.status).toBe(202);
    await eventually(async () => {
      const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq.uuid}`, { as: 'member' });
      return body.state !== 'Bound' && body.instance_uuid === null ? body : undefined;
    });
    expect((await call('DELETE', `/v2/accelerator_requests/${arq.uuid}`, { as: 'member' })).status).toBe(204);
    expect((await call('GET', `/v2/accelerator_requests/${arq.uuid}`, { as: 'member' })).status).toBe(404);

    // Every event a request caused names the member's user and project (the bind and unbind with
    // the service token too); what the conductor decides alone (the bind's outcome) is its own.
    const user = (service: boolean) => ({
      userId: member.userId,
      projectId: member.projectId,
      roles: expect.arrayContaining(['member', 'reader']),
      service,
    });
    const conductor = { userId: null, projectId: null, roles: ['service'], service: true };
    expect(await recordedIdentities(arq.uuid)).toEqual([
      { type: 'ArqCreated', ...user(false) },
      { type: 'ArqBindStarted', ...user(true) },
      { type: 'ArqBound', ...conductor },
      { type: 'ArqUnbound', ...user(true) },
      { type: 'ArqDeleted', ...user(false) },
    ]);
  });
});
