import { randomUUID } from 'node:crypto';
import { loadSettings, type RunningService } from '@cyborg/config';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';

/**
 * Every guarded endpoint against every persona, under the default policy.
 * A denial is a 403 naming the rule; anything else (200, 201, 400, 404, or
 * the service-token 403 of §5.7) means the policy let the request through.
 */
const P = 'project-p';
const personas: Record<string, Record<string, string>> = {
  'system admin': { 'X-User-Id': 'sa', 'X-Roles': 'admin,member,reader', 'OpenStack-System-Scope': 'all' },
  'project admin': { 'X-User-Id': 'pa', 'X-Project-Id': P, 'X-Roles': 'admin,member,reader' },
  accelerator_admin: { 'X-User-Id': 'aa', 'X-Project-Id': P, 'X-Roles': 'accelerator_admin' },
  accelerator_user: { 'X-User-Id': 'au', 'X-Project-Id': P, 'X-Roles': 'accelerator_user' },
  member: { 'X-User-Id': 'm', 'X-Project-Id': P, 'X-Roles': 'member,reader' },
  reader: { 'X-User-Id': 'r', 'X-Project-Id': P, 'X-Roles': 'reader' },
  service: { 'X-User-Id': 'nova', 'X-Project-Id': 'service', 'X-Roles': 'service', 'X-Service-Roles': 'service' },
  'another project': { 'X-User-Id': 'o', 'X-Project-Id': 'project-q', 'X-Roles': 'member,reader' },
};
const everyone = Object.keys(personas);
const admins = ['system admin', 'project admin'];
const acceleratorAdmins = [...admins, 'accelerator_admin'];
const arqWriters = everyone.filter((p) => p !== 'reader');

interface Endpoint {
  rule: string;
  method: string;
  path: () => string;
  body?: () => unknown;
  allowed: string[];
}

const id = () => randomUUID();
const endpoints: Endpoint[] = [
  { rule: 'cyborg:device_profile:get_all', method: 'GET', path: () => '/v2/device_profiles', allowed: everyone },
  {
    rule: 'cyborg:device_profile:get_one',
    method: 'GET',
    path: () => `/v2/device_profiles/${id()}`,
    allowed: everyone,
  },
  {
    rule: 'cyborg:device_profile:create',
    method: 'POST',
    path: () => '/v2/device_profiles',
    body: () => [{ name: `m-${id()}`, groups: [{ 'resources:FPGA': '1' }] }],
    allowed: ['system admin'],
  },
  {
    rule: 'cyborg:device_profile:delete',
    method: 'DELETE',
    path: () => `/v2/device_profiles/${id()}`,
    allowed: ['system admin'],
  },
  { rule: 'cyborg:arq:get_all', method: 'GET', path: () => '/v2/accelerator_requests', allowed: everyone },
  { rule: 'cyborg:arq:get_one', method: 'GET', path: () => `/v2/accelerator_requests/${id()}`, allowed: everyone },
  {
    rule: 'cyborg:arq:create',
    method: 'POST',
    path: () => '/v2/accelerator_requests',
    body: () => ({ device_profile_name: `none-${id()}` }),
    allowed: arqWriters,
  },
  {
    rule: 'cyborg:arq:update',
    method: 'PATCH',
    path: () => '/v2/accelerator_requests',
    body: () => ({ [id()]: [{ path: '/hostname', op: 'add', value: 'h' }] }),
    allowed: arqWriters,
  },
  { rule: 'cyborg:arq:delete', method: 'DELETE', path: () => `/v2/accelerator_requests/${id()}`, allowed: arqWriters },
  { rule: 'cyborg:device:get_all', method: 'GET', path: () => '/v2/devices', allowed: acceleratorAdmins },
  { rule: 'cyborg:device:get_one', method: 'GET', path: () => `/v2/devices/${id()}`, allowed: acceleratorAdmins },
  {
    rule: 'cyborg:device:disable',
    method: 'POST',
    path: () => `/v2/devices/${id()}/disable`,
    allowed: ['system admin'],
  },
  { rule: 'cyborg:device:enable', method: 'POST', path: () => `/v2/devices/${id()}/enable`, allowed: ['system admin'] },
  { rule: 'cyborg:deployable:get_all', method: 'GET', path: () => '/v2/deployables', allowed: acceleratorAdmins },
  {
    rule: 'cyborg:deployable:get_one',
    method: 'GET',
    path: () => `/v2/deployables/${id()}`,
    allowed: acceleratorAdmins,
  },
  { rule: 'cyborg:attribute:get_all', method: 'GET', path: () => '/v2/attributes', allowed: acceleratorAdmins },
  { rule: 'cyborg:attribute:get_one', method: 'GET', path: () => `/v2/attributes/${id()}`, allowed: acceleratorAdmins },
  {
    rule: 'cyborg:attribute:create',
    method: 'POST',
    path: () => '/v2/attributes',
    body: () => ({ deployable_id: 987654321, key: 'k', value: 'v' }),
    allowed: acceleratorAdmins,
  },
  {
    rule: 'cyborg:attribute:delete',
    method: 'DELETE',
    path: () => `/v2/attributes/${id()}`,
    allowed: acceleratorAdmins,
  },
  { rule: 'cyborg:placement_sync:get', method: 'GET', path: () => '/v2/placement_sync', allowed: admins },
];

let db: TestDatabase;
let nats: TestNatsServer;
let apiUrl: string;
const services: RunningService[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  const settings = loadSettings({ DATABASE_URL: db.url, NATS_URL: nats.url, API_PORT: '0', API_HOST: '127.0.0.1' });
  services.push(await startConductor(settings, quietLogger));
  const api = await startApi(settings, quietLogger);
  apiUrl = api.url;
  services.push(api);
});
afterAll(async () => {
  for (const s of services.reverse()) await s.close();
  await nats?.destroy();
  await db?.drop();
});

const cases = endpoints.flatMap((e) =>
  everyone.map((persona) => [e.rule, persona, e.allowed.includes(persona), e] as const),
);

it.each(cases)('%s as %s: allowed=%s', async (rule, persona, allowed, endpoint) => {
  const response = await fetch(`${apiUrl}${endpoint.path()}`, {
    method: endpoint.method,
    headers: { ...personas[persona], 'content-type': 'application/json' },
    body: endpoint.body ? JSON.stringify(endpoint.body()) : undefined,
  });
  const text = await response.text();
  const deniedByPolicy =
    response.status === 403 && text.includes(`Access was denied to the following resource: ${rule}`);
  expect({ status: response.status, deniedByPolicy }).toEqual({
    status: allowed ? expect.any(Number) : 403,
    deniedByPolicy: !allowed,
  });
  expect(response.status).toBeLessThan(500);
});
