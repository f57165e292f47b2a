import fc from 'fast-check';
import { loadSettings, type RunningService } from '@cyborg/config';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { fault, http } from '../arqs/support';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../support/keystone';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';
import { keystoneSettings } from './support';

/**
 * Garbage tokens, as a seeded fuzz run (replay with FUZZ_SEED): random
 * text, fernet- and JWS-shaped strings, real tokens truncated, extended or
 * with a character changed, huge ones, as X-Auth-Token and as
 * X-Service-Token beside a good user token, on every kind of route. Every
 * answer is a 401 in Cyborg's shape with WWW-Authenticate; never a 5xx, and
 * never the request let through.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261202);
const RUNS = Number(process.env.FUZZ_RUNS ?? 60);

let keystone: TestKeystone;
let db: TestDatabase;
let nats: TestNatsServer;
let apiUrl: string;
let good: string;
const services: RunningService[] = [];

beforeAll(async () => {
  keystone = await TestKeystone.shared();
  good = await keystone.token('member');
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
  apiUrl = api.url;
  services.push(api);
}, KEYSTONE_START_TIMEOUT_MS);

afterAll(async () => {
  for (const s of services.reverse()) await s.close();
  await nats?.destroy();
  await db?.drop();
  await keystone?.stop();
});

/** Characters a header value can carry over HTTP/1.1 (Latin-1 without controls). */
const headerText = (maxLength: number) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.integer({ min: 0xa0, max: 0xff }),
        fc.constantFrom(0x09, 0x2e, 0x2d, 0x5f, 0x3d),
      ),
      { minLength: 1, maxLength },
    )
    .map((codes) => String.fromCharCode(...codes))
    // fetch trims the value; one that is only blanks is no token at all, covered elsewhere.
    .filter((text) => text.trim() !== '');

const base64url = (min: number, max: number) =>
  fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_='),
    minLength: min,
    maxLength: max,
  });

const garbageToken = (): fc.Arbitrary<string> =>
  fc.oneof(
    headerText(300),
    base64url(1, 300).map((tail) => `gAAAAA${tail}`),
    fc.tuple(base64url(4, 80), base64url(4, 200), base64url(4, 80)).map((parts) => parts.join('.')),
    fc.integer({ min: 1, max: good.length - 1 }).map((n) => good.slice(0, n)),
    base64url(1, 40).map((tail) => `${good}${tail}`),
    fc
      .tuple(fc.integer({ min: 0, max: good.length - 1 }), fc.constantFrom('A', 'z', '0', '-', '_'))
      .map(([i, c]) => good.slice(0, i) + (good[i] === c ? 'B' : c) + good.slice(i + 1))
      .filter((token) => token !== good),
    fc.integer({ min: 8000, max: 12_000 }).map((n) => 'A'.repeat(n)),
    fc.constantFrom('admin', 'notused', 'null', 'undefined', "' OR 1=1 --", '${jndi:ldap://x}', '../../etc/passwd'),
  );

const ROUTES: [string, string, unknown?][] = [
  ['GET', '/v2/device_profiles'],
  ['GET', '/v2/accelerator_requests'],
  ['POST', '/v2/accelerator_requests', { device_profile_name: 'x' }],
  ['PATCH', '/v2/accelerator_requests', {}],
  ['DELETE', '/v2/accelerator_requests/00000000-0000-0000-0000-000000000000'],
  ['POST', '/v2/device_profiles', [{ name: 'x', groups: [] }]],
  ['GET', '/v2/events'],
  ['GET', '/v2/usage'],
  ['GET', '/devices'],
  ['GET', '/v2/nothing/here'],
];

it('answers every garbage token with 401 in Cyborg’s shape, never a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      garbageToken(),
      fc.constantFrom(...ROUTES),
      fc.constantFrom('user', 'service'),
      async (token, [method, path, json], where) => {
        const headers: Record<string, string> =
          where === 'user' ? { 'X-Auth-Token': token } : { 'X-Auth-Token': good, 'X-Service-Token': token };
        const answer = await http(apiUrl, method, path, { json, headers });
        expect({
          status: answer.status,
          wwwAuthenticate: answer.headers.get('www-authenticate'),
          fault: fault(answer),
        }).toEqual({
          status: 401,
          wwwAuthenticate: `Keystone uri="${keystone.url}"`,
          fault: expect.stringMatching(/^The request you have made requires authentication: /),
        });
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
});
