import { loadSettings, type RunningService } from '@cyborg/config';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { definePolicyMatrix } from '../api/policy-matrix';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../support/keystone';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';
import { ensureExtraUsers, keystoneSettings, keystoneTokens } from './support';

/**
 * The persona matrix of test/api/policy-matrix.spec.ts, with real Keystone
 * tokens instead of identity headers: the API with AUTH_STRATEGY=keystone
 * learns each persona's user, project, roles and scope from Keystone alone.
 */
let db: TestDatabase;
let nats: TestNatsServer;
const services: RunningService[] = [];

afterAll(async () => {
  for (const s of services.reverse()) await s.close();
  await nats?.destroy();
  await db?.drop();
});

let keystone: TestKeystone;

// Before the matrix's own beforeAll: starting Keystone may take longer than a test.
beforeAll(async () => {
  keystone = await TestKeystone.shared();
  await ensureExtraUsers(keystone);
}, KEYSTONE_START_TIMEOUT_MS);

definePolicyMatrix(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  const settings = loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    ...keystoneSettings(keystone),
  });
  services.push(await startConductor(settings, quietLogger));
  const api = await startApi(settings, quietLogger);
  services.push(api);
  return { apiUrl: api.url, authenticate: keystoneTokens(keystone) };
});
