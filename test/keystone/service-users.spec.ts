import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseDocument } from 'yaml';
import { createBitstreamSource } from '@cyborg/bitstreams';
import { loadSettings, type RunningService } from '@cyborg/config';
import { agentSubject, AgentWork, type ReportInventoryResult } from '@cyborg/contracts';
import { KeystoneServiceAuth, KeystoneSession, serviceAuthFrom, TokenValidator } from '@cyborg/keystone';
import { MessagingModule, RpcClient } from '@cyborg/messaging';
import { PlacementClient, PlacementError } from '@cyborg/placement';
import { startAgent } from '../../apps/agent/src/start';
import { NovaClient } from '../../apps/conductor/src/nova/nova-client';
import { startConductor } from '../../apps/conductor/src/start';
import { type RunningPlacementSync, startPlacementSync } from '../../apps/placement-sync/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeGlance } from '../support/fake-glance';
import { FakeNova } from '../support/fake-nova';
import { KEYSTONE_START_TIMEOUT_MS, TestKeystone } from '../support/keystone';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';
import { PLACEMENT_START_TIMEOUT_MS, TestPlacement } from '../support/placement';

/**
 * The services as service users against a real Keystone whose tokens live
 * 30 s (renewed after 15 s), a real Placement behind keystonemiddleware, and
 * Nova and Glance HTTP servers that validate every X-Auth-Token with that
 * Keystone. No URL and no token is configured: everything comes from the
 * service user's login and its catalog.
 */
const TOKEN_LIFETIME_SECONDS = 30;

let keystone: TestKeystone;
let placement: TestPlacement;
let nova: FakeNova;
let glance: FakeGlance;
let db: TestDatabase;
let nats: TestNatsServer;
let dir: string;
let client: INestApplicationContext;
let rpc: RpcClient;
let sync: RunningPlacementSync;
let computeNode: string;
let operatorToken: string;
const services: RunningService[] = [];
const host = `su-${randomUUID().slice(0, 8)}`;
const hostFile = () => join(dir, `${host}.yaml`);

/** As an operator deploys it: the service user `cyborg` and the Keystone URL, nothing else. */
function serviceSettings(extra: Record<string, string> = {}) {
  return loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    PROJECTION_POLL_MS: '50',
    KEYSTONE_AUTH_URL: keystone.authUrl,
    SERVICE_USERNAME: 'cyborg',
    SERVICE_PASSWORD: 'cyborg-password',
    SERVICE_PROJECT_NAME: 'service',
    AGENT_HOSTNAME: host,
    AGENT_DRIVERS: 'fake,simulated',
    AGENT_SIMULATED_HOST_FILE: hostFile(),
    AGENT_REPORT_INTERVAL_MS: '600000',
    PLACEMENT_RECONCILE_INTERVAL_MS: '600000',
    PLACEMENT_RETRY_MAX_MS: '300',
    ...extra,
  });
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in time${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Placement as an operator reads it, with a fresh admin token each time (tokens here expire fast). */
async function placementGet<T>(path: string): Promise<T> {
  operatorToken = await keystone.token('admin');
  const answer = await placement.call<T>('GET', path, undefined, operatorToken);
  if (answer.status !== 200) throw new Error(`Placement GET ${path} answered ${answer.status}`);
  return answer.body;
}

async function childProviders(): Promise<string[]> {
  const { resource_providers } = await placementGet<{
    resource_providers: { name: string; parent_provider_uuid: string | null }[];
  }>(`/resource_providers?in_tree=${computeNode}`);
  return resource_providers
    .filter((p) => p.parent_provider_uuid === computeNode)
    .map((p) => p.name)
    .sort();
}

async function setDevicePresent(id: string, present: boolean): Promise<void> {
  const doc = parseDocument(await readFile(hostFile(), 'utf8'));
  doc.setIn(['faults', 'devices', id, 'present'], present);
  await writeFile(hostFile(), String(doc));
  await rpc.request<ReportInventoryResult>(
    agentSubject(host, AgentWork.reportNow),
    { reason: 'test' },
    { timeoutMs: 10_000 },
  );
}

const qatProvider = `${host}_0000:3d:00.0`;

/** Revokes every token of a user, as disabling it does, then lets it log in again. */
async function revokeTokensOf(username: 'cyborg'): Promise<void> {
  const userId = keystone.personas[username].userId;
  for (const enabled of [false, true]) {
    const answer = await keystone.request('PATCH', `/users/${userId}`, { user: { enabled } });
    expect(answer.status).toBe(200);
  }
  // Revocation is to the second: a token issued in the same second would be revoked too.
  await new Promise((r) => setTimeout(r, 1100));
}

beforeAll(async () => {
  keystone = await TestKeystone.start({ tokenExpirationSeconds: TOKEN_LIFETIME_SECONDS });
  placement = await TestPlacement.start({ keystoneAuthUrl: keystone.authUrl });
  // Nova and Glance check tokens as their keystonemiddleware would: as their own service user, no cache.
  const novaUser = new KeystoneSession({
    authUrl: keystone.authUrl,
    credentials: { type: 'password', username: 'nova', password: 'nova-password', projectName: 'service' },
  });
  const validator = new TokenValidator({ session: novaUser, cacheTtlSeconds: 0 });
  nova = await FakeNova.start({ validator });
  glance = await FakeGlance.start({ validator });
  await keystone.setEndpoint('placement', placement.url);
  await keystone.setEndpoint('compute', nova.url);
  await keystone.setEndpoint('image', glance.url);

  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  dir = await mkdtemp(join(tmpdir(), 'cyborg-service-users-'));
  await writeFile(hostFile(), await readFile(new URL('../../deploy/simulated-host.yaml', import.meta.url), 'utf8'));
  services.push(await startConductor(serviceSettings(), quietLogger));
  sync = await startPlacementSync(serviceSettings(), quietLogger);
  services.push(await startAgent(serviceSettings(), quietLogger));
  client = await NestFactory.createApplicationContext(
    MessagingModule.forRoot({ servers: nats.url, name: 'service-users-test-client', defaultTimeoutMs: 10_000 }),
    { logger: false },
  );
  await client.init();
  rpc = client.get(RpcClient);
}, KEYSTONE_START_TIMEOUT_MS + PLACEMENT_START_TIMEOUT_MS);

afterAll(async () => {
  await client?.close();
  await sync?.close();
  for (const service of services.reverse()) await service.close();
  await nova?.close();
  await glance?.close();
  await placement?.stop();
  await nats?.destroy();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
  await keystone?.stop();
});

describe('placement-sync as the service user cyborg', () => {
  it('finds Placement in the catalog and syncs the host into the keystonemiddleware Placement', async () => {
    await sync.ready();
    computeNode = randomUUID();
    operatorToken = await keystone.token('admin');
    expect(
      (await placement.call('POST', '/resource_providers', { name: host, uuid: computeNode }, operatorToken)).status,
    ).toBe(200);
    const children = await eventually(async () => {
      const names = await childProviders();
      return names.includes(`${host}_FakeDevice`) && names.includes(qatProvider) ? names : undefined;
    });
    expect(children.length).toBeGreaterThan(10);
  }, 60_000);

  it('keeps syncing after every token it held has expired, and after its tokens are revoked', async () => {
    const started = Date.now();
    // Longer than a token's lifetime: whatever token placement-sync had is expired by now.
    await new Promise((r) => setTimeout(r, TOKEN_LIFETIME_SECONDS * 1000 + 2000));
    await setDevicePresent('qat0', false);
    await eventually(async () => ((await childProviders()).includes(qatProvider) ? undefined : true));
    expect(Date.now() - started).toBeGreaterThan(TOKEN_LIFETIME_SECONDS * 1000);

    // Its current token refused mid-run (401): it logs in again and carries on.
    await revokeTokensOf('cyborg');
    await setDevicePresent('qat0', true);
    await eventually(async () => ((await childProviders()).includes(qatProvider) ? true : undefined));
  }, 120_000);
});

describe('the Placement client with a Keystone session', () => {
  const cyborgSession = () =>
    new KeystoneSession({
      authUrl: keystone.authUrl,
      credentials: { type: 'password', username: 'cyborg', password: 'cyborg-password', projectName: 'service' },
    });

  it('recovers a revoked token (401) with exactly one new login', async () => {
    const session = cyborgSession();
    const client = new PlacementClient({ auth: new KeystoneServiceAuth(session, { serviceType: 'placement' }) });
    expect(await client.getProvider(computeNode)).toMatchObject({ name: host });
    expect(session.authentications).toBe(1);
    await keystone.revoke(await session.token());
    expect(await client.getProvider(computeNode)).toMatchObject({ name: host });
    expect(session.authentications).toBe(2);
    expect(client.counters.requests).toBe(2);
  });

  it('picks the endpoint of KEYSTONE_INTERFACE from the catalog, and PLACEMENT_URL overrides it', async () => {
    // The public endpoint points nowhere; the internal one at Placement.
    const serviceId = (
      (await keystone.request('GET', '/services?type=placement')).body as { services: { id: string }[] }
    ).services[0].id;
    const endpoints = (
      (await keystone.request('GET', `/endpoints?service_id=${serviceId}`)).body as {
        endpoints: { id: string; interface: string }[];
      }
    ).endpoints;
    const publicEndpoint = endpoints.find((e) => e.interface === 'public')!;
    await keystone.request('PATCH', `/endpoints/${publicEndpoint.id}`, {
      endpoint: { url: 'http://127.0.0.1:9/nowhere' },
    });
    try {
      const internal = serviceAuthFrom(
        serviceSettings({ KEYSTONE_INTERFACE: 'internal', KEYSTONE_REGION_NAME: 'RegionOne' }),
        {
          serviceType: 'placement',
        },
      )!;
      expect(await internal.baseUrl()).toBe(placement.url);
      expect(await new PlacementClient({ auth: internal }).getProvider(computeNode)).toMatchObject({ name: host });

      const publicAuth = serviceAuthFrom(serviceSettings(), { serviceType: 'placement' })!;
      expect(await publicAuth.baseUrl()).toBe('http://127.0.0.1:9/nowhere');
      await expect(new PlacementClient({ auth: publicAuth, timeoutMs: 2000 }).getProvider(computeNode)).rejects.toThrow(
        /Placement GET/,
      );

      const overridden = serviceAuthFrom(serviceSettings({ PLACEMENT_URL: placement.url }), {
        serviceType: 'placement',
        url: placement.url,
      })!;
      expect(overridden.description).toBe(placement.url);
      expect(await new PlacementClient({ auth: overridden }).getProvider(computeNode)).toMatchObject({ name: host });

      const otherRegion = serviceAuthFrom(serviceSettings({ KEYSTONE_REGION_NAME: 'RegionTwo' }), {
        serviceType: 'placement',
      })!;
      await expect(new PlacementClient({ auth: otherRegion }).getProvider(computeNode)).rejects.toThrow(
        /no public endpoint of service type placement in region RegionTwo/,
      );
    } finally {
      await keystone.setEndpoint('placement', placement.url);
    }
  });

  it('logs in with an application credential from the settings', async () => {
    const credential = await keystone.createApplicationCredential('cyborg');
    const auth = serviceAuthFrom(
      serviceSettings({
        SERVICE_PASSWORD: '',
        SERVICE_APPLICATION_CREDENTIAL_ID: credential.id,
        SERVICE_APPLICATION_CREDENTIAL_SECRET: credential.secret,
      }),
      { serviceType: 'placement' },
    ) as KeystoneServiceAuth;
    expect(await new PlacementClient({ auth }).getProvider(computeNode)).toMatchObject({ name: host });
    expect(await auth.session.identity()).toMatchObject({
      userName: 'cyborg',
      applicationCredentialId: credential.id,
      methods: ['application_credential'],
    });
  });

  it('without Keystone sends the fixed token, which the keystonemiddleware Placement refuses', async () => {
    const fixed = serviceAuthFrom(loadSettings({}), { serviceType: 'placement', url: placement.url, token: 'admin' })!;
    const error = await new PlacementClient({ auth: fixed }).getProvider(computeNode).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PlacementError);
    expect((error as PlacementError).status).toBe(401);
  });
});

describe('Nova and Glance as the service user cyborg', () => {
  it('Nova gets a valid token of the service user from the catalog endpoint, renewed once after a 401', async () => {
    const auth = serviceAuthFrom(serviceSettings(), { serviceType: 'compute' }) as KeystoneServiceAuth;
    const client = new NovaClient({ auth, retries: 0 });
    const event = { serverUuid: randomUUID(), arqUuid: randomUUID(), status: 'completed' as const };
    expect(await client.sendBindEvents([event])).toMatchObject({ delivered: true, status: 200 });
    const first = nova.requests.at(-1)!;
    expect(first.path).toBe('/compute/v2.1/os-server-external-events');
    expect(first.identity).toMatchObject({ userName: 'cyborg', projectName: 'service', hasServiceRole: true });

    await keystone.revoke(await auth.session.token());
    const before = nova.requests.length;
    const again = { ...event, arqUuid: randomUUID() };
    expect(await client.sendBindEvents([again])).toMatchObject({ delivered: true, status: 200 });
    expect(nova.requests.slice(before).map((r) => r.status)).toEqual([401, 200]);
    expect(nova.eventsFor(again.arqUuid)).toHaveLength(1);
    expect(auth.session.authentications).toBe(2);
  });

  it('NOVA_URL overrides the catalog, still with the renewed token; NOVA_AUTH_TOKEN is for noauth set-ups only', async () => {
    const settings = serviceSettings({ NOVA_URL: nova.url, NOVA_AUTH_TOKEN: 'ignored' });
    const auth = serviceAuthFrom(settings, { serviceType: 'compute', url: settings.NOVA_URL, token: 'ignored' })!;
    const event = { serverUuid: randomUUID(), arqUuid: randomUUID(), status: 'failed' as const };
    expect(await new NovaClient({ auth, retries: 0 }).sendBindEvents([event])).toMatchObject({ delivered: true });
    expect(nova.requests.at(-1)!.identity?.userName).toBe('cyborg');

    const fixed = new NovaClient({ url: nova.url, token: 'ignored', retries: 0 });
    expect(await fixed.sendBindEvents([event])).toMatchObject({ delivered: false, status: 401 });
  });

  it('BITSTREAM_SOURCE=glance finds Glance in the catalog; every request carries a valid token', async () => {
    const settings = serviceSettings({ BITSTREAM_SOURCE: 'glance' });
    let made: KeystoneServiceAuth | null = null;
    const source = createBitstreamSource(settings.BITSTREAM_SOURCE!, (url) => {
      made = serviceAuthFrom(settings, { serviceType: 'image', url }) as KeystoneServiceAuth;
      return made;
    });
    const image = glance.add({ functionId: `fn-${randomUUID()}` });
    const before = glance.requests.length;
    expect((await source.describe(image.id)).id).toBe(image.id);
    await keystone.revoke(await made!.session.token());
    const found = await source.findByFunction(image.functionId!);
    expect(found.id).toBe(image.id);
    const path = join(dir, 'bitstream.bin');
    await source.download(found, path);
    expect(await readFile(path)).toEqual(image.data);
    // describe, the refused find (401), the find again, the download.
    expect(glance.requests.slice(before)).toHaveLength(4);
    expect(glance.identities.slice(before).map((i) => i?.userName ?? null)).toEqual([
      'cyborg',
      null,
      'cyborg',
      'cyborg',
    ]);
    expect(made!.session.authentications).toBe(2);
  });

  it('glance+URL overrides the catalog; without KEYSTONE_AUTH_URL a bare glance is refused', async () => {
    const settings = serviceSettings({ BITSTREAM_SOURCE: `glance+${glance.url}/v2` });
    const source = createBitstreamSource(settings.BITSTREAM_SOURCE!, (url) =>
      serviceAuthFrom(settings, { serviceType: 'image', url }),
    );
    const image = glance.add();
    expect((await source.describe(image.id)).id).toBe(image.id);
    expect(glance.identities.at(-1)?.userName).toBe('cyborg');

    const noKeystone = loadSettings({ BITSTREAM_SOURCE: 'glance' });
    expect(() =>
      createBitstreamSource('glance', (url) => serviceAuthFrom(noKeystone, { serviceType: 'image', url })),
    ).toThrow(/set KEYSTONE_AUTH_URL/);
  });
});
