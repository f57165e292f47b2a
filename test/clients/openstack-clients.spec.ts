import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { loadSettings, type RunningService } from '@cyborg/config';
import { startAgent } from '../../apps/agent/src/start';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';

/**
 * The real clients from Debian, unchanged, against this API: the `openstack
 * accelerator` CLI (python3-cyborgclient's plugin) and openstacksdk, with no
 * Keystone (`--os-auth-type none`), as placement-and-clients docs describe.
 */
const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 240_000;
const hostname = `cli-${randomUUID().slice(0, 8)}`;
let db: TestDatabase;
let nats: TestNatsServer;
let apiUrl: string;
const services: RunningService[] = [];

async function openstack<T = unknown>(...args: string[]): Promise<T> {
  const { stdout } = await run(
    'openstack',
    ['accelerator', ...args, ...(args.includes('delete') ? [] : ['-f', 'json'])],
    {
      env: { ...process.env, OS_AUTH_TYPE: 'none', OS_ENDPOINT: apiUrl, OS_CLOUD: '' },
      timeout: 60_000,
    },
  );
  return (args.includes('delete') ? stdout : JSON.parse(stdout)) as T;
}

async function sdk(script: string): Promise<unknown> {
  const prelude = `import json, openstack\nc = openstack.connection.Connection(auth_type='none', accelerator_endpoint_override='${apiUrl}')\n`;
  const { stdout } = await run('/usr/bin/python3', ['-c', prelude + script], { timeout: 60_000 });
  return JSON.parse(stdout);
}

// The first run on a machine installs the clients with apt-get.
beforeAll(async () => {
  await run('bash', [new URL('../../scripts/install-openstack-clients.sh', import.meta.url).pathname], {
    timeout: INSTALL_TIMEOUT_MS - 20_000,
  });
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  const settings = (extra: Record<string, string> = {}) =>
    loadSettings({ DATABASE_URL: db.url, NATS_URL: nats.url, API_PORT: '0', API_HOST: '127.0.0.1', ...extra });
  services.push(await startConductor(settings(), quietLogger));
  const api = await startApi(settings(), quietLogger);
  apiUrl = api.url;
  services.push(api);
  services.push(await startAgent(settings({ AGENT_HOSTNAME: hostname, AGENT_DRIVERS: 'fake' }), quietLogger));
}, INSTALL_TIMEOUT_MS);

afterAll(async () => {
  for (const s of services.reverse()) await s.close();
  await nats?.destroy();
  await db?.drop();
});

async function fakeDeployableRp(): Promise<string> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    const body = (await (await fetch(`${apiUrl}/v2/deployables`)).json()) as {
      deployables: { name: string; rp_uuid: string }[];
    };
    const fake = body.deployables.find((d) => d.name === `${hostname}_FakeDevice`);
    if (fake) return fake.rp_uuid;
  }
  throw new Error('the agent did not report its fake device');
}

describe('openstack accelerator (CLI)', () => {
  it('creates, lists, shows and deletes a device profile', async () => {
    const created = await openstack<{ uuid: string; name: string; groups: unknown }>(
      'device',
      'profile',
      'create',
      'cli-dp',
      '[{"resources:FPGA":"1","trait:CUSTOM_FAKE_DEVICE":"required"}]',
    );
    expect(created).toMatchObject({
      name: 'cli-dp',
      groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }],
    });
    const list = await openstack<{ uuid: string; name: string }[]>('device', 'profile', 'list');
    expect(list.map((p) => p.name)).toContain('cli-dp');
    expect(await openstack('device', 'profile', 'show', created.uuid)).toMatchObject({
      uuid: created.uuid,
      name: 'cli-dp',
    });
    await openstack('device', 'profile', 'delete', created.uuid);
    expect((await openstack<{ name: string }[]>('device', 'profile', 'list')).map((p) => p.name)).not.toContain(
      'cli-dp',
    );
  });

  it('creates, binds, shows, lists and deletes an accelerator request', async () => {
    const rp = await fakeDeployableRp();
    await openstack('device', 'profile', 'create', 'cli-arq-dp', '[{"resources:FPGA":"1"}]');
    const arq = await openstack<{ uuid: string; state: string }>('arq', 'create', 'cli-arq-dp');
    expect(arq.state).toBe('Initial');
    // cyborgclient parses a project id here but never sends it.
    const bound = await openstack<{ state: string; attach_handle_type: string; hostname: string }>(
      'arq',
      'bind',
      arq.uuid,
      hostname,
      randomUUID(),
      rp,
      'a-project',
    );
    expect(bound).toMatchObject({ state: 'Bound', attach_handle_type: 'TEST_PCI', hostname });
    expect((await openstack<{ uuid: string }[]>('arq', 'list')).map((a) => a.uuid)).toContain(arq.uuid);
    expect(await openstack('arq', 'show', arq.uuid)).toMatchObject({ uuid: arq.uuid, state: 'Bound' });
    await openstack('arq', 'delete', arq.uuid);
    expect((await openstack<{ uuid: string }[]>('arq', 'list')).map((a) => a.uuid)).not.toContain(arq.uuid);
    await openstack('device', 'profile', 'delete', 'cli-arq-dp');
  });

  it('lists and shows devices and deployables', async () => {
    await fakeDeployableRp();
    const devices = await openstack<{ uuid: string; type: string; hostname: string }[]>('device', 'list');
    const fake = devices.find((d) => d.hostname === hostname);
    expect(fake).toMatchObject({ type: 'FPGA', vendor: '0xABCD' });
    expect(await openstack('device', 'show', fake!.uuid)).toMatchObject({ uuid: fake!.uuid, hostname });
    const deployables = await openstack<{ uuid: string; name: string }[]>('deployable', 'list');
    const deployable = deployables.find((d) => d.name === `${hostname}_FakeDevice`);
    expect(deployable).toBeDefined();
    expect(await openstack('deployable', 'show', deployable!.uuid)).toMatchObject({ uuid: deployable!.uuid });
  });
});

describe('openstacksdk', () => {
  it('drives device profiles, ARQs, devices and deployables through conn.accelerator', async () => {
    await fakeDeployableRp();
    const result = await sdk(`
dp = c.accelerator.create_device_profile(name='sdk-dp', groups=[{'resources:FPGA': '1'}])
arq = c.accelerator.create_accelerator_request(device_profile_name='sdk-dp', device_profile_group_id=0)
out = {
  'dp': c.accelerator.get_device_profile(dp.id).name,
  'arq_state': c.accelerator.get_accelerator_request(arq.id).state,
  'arqs': [a.id for a in c.accelerator.accelerator_requests()],
  'devices': sorted({d.hostname for d in c.accelerator.devices()}),
  'deployables': [d.name for d in c.accelerator.deployables()],
  'arq_id': arq.id,
}
c.accelerator.delete_accelerator_request(arq.id)
c.accelerator.delete_device_profile(dp.id)
out['after'] = [p.name for p in c.accelerator.device_profiles()]
print(json.dumps(out))
`);
    const out = result as {
      dp: string;
      arq_state: string;
      arqs: string[];
      arq_id: string;
      devices: string[];
      deployables: string[];
      after: string[];
    };
    expect(out.dp).toBe('sdk-dp');
    expect(out.arq_state).toBe('Initial');
    expect(out.arqs).toContain(out.arq_id);
    expect(out.devices).toContain(hostname);
    expect(out.deployables).toContain(`${hostname}_FakeDevice`);
    expect(out.after).not.toContain('sdk-dp');
  });
});
