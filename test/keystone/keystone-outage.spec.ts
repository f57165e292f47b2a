import { randomUUID } from 'node:crypto';
import { type Answer, eventually, fault, http, unique } from '../arqs/support';
import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../support/keystone';
import { TestSystem } from '../support/system';
import { keystoneSettings } from './support';

/**
 * A Keystone of this file's own, with tokens that live a few seconds and a
 * server the tests stop: an expired token is refused although its answer
 * was cached, and while Keystone is down a token that cannot be checked
 * gets 503 (never a fallback to headers), nothing is written, /healthz says
 * Keystone is down, and all is well again once it is back.
 */
const TOKEN_LIFETIME_SECONDS = 8;
let keystone: TestKeystone;
let system: TestSystem;
let profile: string;

const call = (method: string, path: string, token: string | null, json?: unknown): Promise<Answer> =>
  http(system.apiUrl, method, path, { json, headers: token ? { 'X-Auth-Token': token } : {} });

beforeAll(async () => {
  keystone = await TestKeystone.start({ tokenExpirationSeconds: TOKEN_LIFETIME_SECONDS });
  system = await TestSystem.start({
    name: 'keystone-outage',
    hostname: `kso-${randomUUID().slice(0, 6)}`,
    // The default cache (60 s): longer than a token lives, so expiry is not left to the cache.
    settings: keystoneSettings(keystone),
    agentSettings: { AGENT_DRIVERS: 'fake' },
  });
  profile = unique('kso-dp');
  const made = await call('POST', '/v2/device_profiles', await keystone.token('admin'), [
    { name: profile, groups: [{ 'resources:FPGA': '1' }] },
  ]);
  expect(made.status).toBe(201);
}, KEYSTONE_START_TIMEOUT_MS);

afterAll(async () => {
  await system?.close();
  await keystone?.stop();
});

it('refuses a token once it has expired, though its answer was cached', async () => {
  const { token, body } = await keystone.issue('member');
  expect((await call('GET', '/v2/accelerator_requests', token)).status).toBe(200);
  const refused = await eventually(
    async () => {
      const answer = await call('GET', '/v2/accelerator_requests', token);
      return answer.status === 401 ? answer : undefined;
    },
    TOKEN_LIFETIME_SECONDS * 1000 + 5000,
  );
  expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(body.expires_at));
  expect({ status: refused.status, fault: fault(refused) }).toEqual({
    status: 401,
    fault: expect.stringContaining('Keystone does not accept the X-Auth-Token'),
  });
  // The API's own service token expired meanwhile too, and was renewed.
  const fresh = await keystone.token('member');
  expect((await call('GET', '/v2/accelerator_requests', fresh)).status).toBe(200);
});

it('answers 503 while Keystone is down, writes nothing, says so on /healthz, and recovers', async () => {
  const seen = await keystone.token('member');
  expect((await call('GET', '/v2/accelerator_requests', seen)).status).toBe(200);
  const unchecked = await keystone.token('member');
  const before = await system.store.head();

  await keystone.stopServer();
  try {
    const refused = await call('POST', '/v2/accelerator_requests', unchecked, { device_profile_name: profile });
    expect({ status: refused.status, fault: fault(refused) }).toEqual({
      status: 503,
      fault: 'The request cannot be authenticated: Keystone is unavailable. Try again shortly.',
    });
    // Identity headers are no way around it.
    const forged = await http(system.apiUrl, 'POST', '/v2/accelerator_requests', {
      json: { device_profile_name: profile },
      headers: { 'X-Auth-Token': unchecked, 'X-Roles': 'admin', 'X-Project-Id': 'p', 'X-User-Id': 'u' },
    });
    expect(forged.status).toBe(503);
    // As keystonemiddleware's cache: a token checked a moment ago still reads.
    expect((await call('GET', '/v2/accelerator_requests', seen)).status).toBe(200);

    const health = await call('GET', '/healthz', null);
    expect({ status: health.status, body: health.body }).toEqual({
      status: 503,
      body: {
        status: 'degraded',
        checks: { postgres: { ok: true }, nats: { ok: true }, keystone: { ok: false }, projections: { ok: true } },
      },
    });
    expect(await system.store.head()).toEqual(before);
  } finally {
    await keystone.startServer();
  }

  await eventually(async () => ((await call('GET', '/healthz', null)).status === 200 ? true : undefined), 30_000);
  // A token of now: on a loaded machine the 8-second one may have expired while Keystone was away.
  const created = await call('POST', '/v2/accelerator_requests', await keystone.token('member'), {
    device_profile_name: profile,
  });
  expect(created.status).toBe(201);
  expect((await system.store.head()).position).toBeGreaterThan(before.position);
});

it('answers an ARQ create with a token it has not checked yet 503 while Keystone is down, and creates nothing', async () => {
  const own = unique('kso-create');
  const made = await call('POST', '/v2/device_profiles', await keystone.token('admin'), [
    { name: own, groups: [{ 'resources:FPGA': '1' }] },
  ]);
  expect(made.status).toBe(201);
  // Issued by Keystone and never shown to the API: nothing of it is cached.
  const unseen = await keystone.token('member');
  const before = await system.store.head();

  await keystone.stopServer();
  const refused = await call('POST', '/v2/accelerator_requests', unseen, { device_profile_name: own }).finally(() =>
    keystone.startServer(),
  );
  expect(refused.status).toBe(503);
  expect(refused.body).toEqual({
    error_message: expect.any(String),
  });
  expect(fault(refused)).toBe('The request cannot be authenticated: Keystone is unavailable. Try again shortly.');
  expect(await system.store.head()).toEqual(before);

  await eventually(async () => ((await call('GET', '/healthz', null)).status === 200 ? true : undefined), 30_000);
  const listed = await call('GET', '/v2/accelerator_requests', await keystone.token('member'));
  expect(listed.status).toBe(200);
  const arqs = (listed.body as { arqs: { device_profile_name: string }[] }).arqs;
  expect(arqs.filter((a) => a.device_profile_name === own)).toEqual([]);
  // Asked again with Keystone back, the ARQ is created: the 503 was Keystone's absence, not the request.
  // A token of now: the 8-second one may have expired while Keystone was away.
  const member = await keystone.token('member');
  const created = await call('POST', '/v2/accelerator_requests', member, { device_profile_name: own });
  expect(created.status).toBe(201);
  const after = await call('GET', '/v2/accelerator_requests', member);
  expect(
    (after.body as { arqs: { device_profile_name: string }[] }).arqs.filter((a) => a.device_profile_name === own),
  ).toHaveLength(1);
});
