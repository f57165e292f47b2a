import { loadSettings } from '@cyborg/config';
import { startApi, type RunningApi } from '../../apps/api/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';

/** keystoneauth's discovery: unauthenticated, and the self href is where v2 really is. */
let db: TestDatabase;
let nats: TestNatsServer;
let api: RunningApi;

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  api = await startApi(
    loadSettings({ DATABASE_URL: db.url, NATS_URL: nats.url, API_PORT: '0', API_HOST: '127.0.0.1' }),
    quietLogger,
  );
});
afterAll(async () => {
  await api?.close();
  await nats?.destroy();
  await db?.drop();
});

interface VersionDoc {
  id: string;
  status: string;
  min_version: string;
  max_version: string;
  links: { href: string; rel: string }[];
}

it('serves the root document with a reachable self link and the 2.0-2.4 range', async () => {
  const response = await fetch(`${api.url}/`, { headers: { Accept: 'application/json' } });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { name: string; versions: VersionDoc[]; default_version: VersionDoc };
  expect(body.name).toBe('OpenStack Cyborg API');
  expect(body.versions).toEqual([
    {
      id: 'v2',
      status: 'CURRENT',
      min_version: '2.0',
      max_version: '2.4',
      links: [{ href: `${api.url}/v2`, rel: 'self' }],
    },
  ]);
  expect(body.default_version).toEqual(body.versions[0]);
  expect(response.headers.get('openstack-api-version')).toBeNull();

  const followed = await fetch(body.versions[0].links[0].href);
  expect(followed.status).toBe(200);
});

it.each(['/v2', '/v2/'])('serves the v2 document at %s with the microversion headers', async (path) => {
  const response = await fetch(`${api.url}${path}`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({
    id: 'v2.0',
    status: 'CURRENT',
    min_version: '2.0',
    max_version: '2.4',
    links: [{ href: `${api.url}/v2`, rel: 'self' }],
  });
  expect(response.headers.get('openstack-api-version')).toBe('accelerator 2.0');
  expect(response.headers.get('openstack-api-minimum-version')).toBe('2.0');
  expect(response.headers.get('openstack-api-maximum-version')).toBe('2.4');
});

it('builds links from X-Forwarded-Proto behind a TLS proxy', async () => {
  const response = await fetch(`${api.url}/`, { headers: { 'X-Forwarded-Proto': 'https' } });
  const body = (await response.json()) as { versions: VersionDoc[] };
  expect(body.versions[0].links[0].href).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v2$/);
});
