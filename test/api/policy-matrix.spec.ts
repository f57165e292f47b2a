import { loadSettings, type RunningService } from '@cyborg/config';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';
import { definePolicyMatrix } from './policy-matrix';
import { noauthHeaders } from './personas';

/**
 * The persona matrix under noauth: each persona's token as the identity
 * headers keystonemiddleware would set. The Keystone run passes tokens
 * instead, through the same `definePolicyMatrix`.
 */
let db: TestDatabase;
let nats: TestNatsServer;
const services: RunningService[] = [];

afterAll(async () => {
  for (const s of services.reverse()) await s.close();
  await nats?.destroy();
  await db?.drop();
});

definePolicyMatrix(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  const settings = loadSettings({ DATABASE_URL: db.url, NATS_URL: nats.url, API_PORT: '0' });
  services.push(await startConductor(settings, quietLogger));
  const api = await startApi(settings, quietLogger);
  services.push(api);
  return { apiUrl: api.url, authenticate: noauthHeaders };
});
