import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { loadSettings, type RunningService } from '@cyborg/config';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { KEYSTONE_START_TIMEOUT_MS, type PersonaName, TestKeystone } from '../support/keystone';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';
import { keystoneSettings } from '../keystone/support';

/**
 * The real clients from Debian against this API with AUTH_STRATEGY=keystone,
 * as an operator and a user of a real cloud run them: password auth against
 * Keystone, the API found through the catalog (service type `accelerator`,
 * endpoint `<api>/v2` as devstack registers it), policy applied to the
 * token's roles.
 */
const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 240_000;
let keystone: TestKeystone;
let db: TestDatabase;
let nats: TestNatsServer;
const services: RunningService[] = [];

/** Password auth as a persona, nothing else: no OS_* variable of the machine leaks in. */
function passwordAuth(as: PersonaName): string[] {
  const persona = keystone.personas[as];
  return [
    '--os-auth-url',
    keystone.authUrl,
    '--os-username',
    persona.username,
    '--os-password',
    persona.password,
    '--os-project-name',
    persona.project!,
    '--os-user-domain-name',
    'Default',
    '--os-project-domain-name',
    'Default',
  ];
}

const cleanEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));

async function openstack<T = unknown>(as: PersonaName, ...args: string[]): Promise<T> {
  const json = !args.includes('delete');
  const { stdout } = await run(
    'openstack',
    [...passwordAuth(as), 'accelerator', ...args, ...(json ? ['-f', 'json'] : [])],
    { env: cleanEnv(), timeout: 60_000 },
  );
  return (json ? JSON.parse(stdout) : stdout) as T;
}

/** The CLI's failure: its exit code and what it printed. */
async function openstackFails(as: PersonaName, ...args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await openstack(as, ...args);
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
  throw new Error(`openstack accelerator ${args.join(' ')} succeeded as ${as}`);
}

/** openstacksdk with password auth as a persona; the script prints JSON. */
async function sdk(as: PersonaName, script: string): Promise<unknown> {
  const persona = keystone.personas[as];
  const prelude =
    'import json, openstack\n' +
    `c = openstack.connect(auth_url='${keystone.authUrl}', username='${persona.username}', ` +
    `password='${persona.password}', project_name='${persona.project}', user_domain_name='Default', ` +
    `project_domain_name='Default', region_name='RegionOne')\n`;
  const { stdout } = await run('/usr/bin/python3', ['-c', prelude + script], { env: cleanEnv(), timeout: 60_000 });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  await run('bash', [new URL('../../scripts/install-openstack-clients.sh', import.meta.url).pathname], {
    timeout: INSTALL_TIMEOUT_MS - 20_000,
  });
  keystone = await TestKeystone.shared();
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
  await keystone.setEndpoint('accelerator', `${api.url}/v2`);
}, INSTALL_TIMEOUT_MS + KEYSTONE_START_TIMEOUT_MS);

afterAll(async () => {
  for (const s of services.reverse()) await s.close();
  await nats?.destroy();
  await db?.drop();
  await keystone?.stop();
});

describe('openstack accelerator (CLI) with password auth', () => {
  it('lets the admin create, list and delete a device profile', async () => {
    const name = `ks-cli-dp-${randomUUID().slice(0, 8)}`;
    const created = await openstack<{ uuid: string; name: string; groups: unknown }>(
      'admin',
      'device',
      'profile',
      'create',
      name,
      '[{"resources:FPGA":"1","trait:CUSTOM_FAKE_DEVICE":"required"}]',
    );
    expect(created).toMatchObject({
      name,
      groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }],
    });
    const listed = await openstack<{ name: string }[]>('admin', 'device', 'profile', 'list');
    expect(listed.map((p) => p.name)).toContain(name);
    await openstack('admin', 'device', 'profile', 'delete', created.uuid);
    expect(
      (await openstack<{ name: string }[]>('admin', 'device', 'profile', 'list')).map((p) => p.name),
    ).not.toContain(name);
  });

  it("refuses a member's device profile with 403, naming the rule", async () => {
    const refused = await openstackFails(
      'member',
      'device',
      'profile',
      'create',
      'by-member',
      '[{"resources:FPGA":"1"}]',
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Access was denied to the following resource: cyborg:device_profile:create');
  });

  it("lets a member create, list, show and delete its ARQs; another project's member does not see them", async () => {
    const profile = `ks-cli-arq-${randomUUID().slice(0, 8)}`;
    await openstack('admin', 'device', 'profile', 'create', profile, '[{"resources:FPGA":"1"}]');
    const arq = await openstack<{ uuid: string; state: string; device_profile_name: string }>(
      'member',
      'arq',
      'create',
      profile,
    );
    expect(arq).toMatchObject({ state: 'Initial', device_profile_name: profile });
    expect((await openstack<{ uuid: string }[]>('member', 'arq', 'list')).map((a) => a.uuid)).toContain(arq.uuid);
    expect(await openstack('member', 'arq', 'show', arq.uuid)).toMatchObject({ uuid: arq.uuid, state: 'Initial' });
    expect((await openstack<{ uuid: string }[]>('otherMember', 'arq', 'list')).map((a) => a.uuid)).not.toContain(
      arq.uuid,
    );
    const hidden = await openstackFails('otherMember', 'arq', 'show', arq.uuid);
    expect(hidden.stderr).toMatch(/not found/i);
    await openstack('member', 'arq', 'delete', arq.uuid);
    expect((await openstack<{ uuid: string }[]>('member', 'arq', 'list')).map((a) => a.uuid)).not.toContain(arq.uuid);
    await openstack('admin', 'device', 'profile', 'delete', profile);
  });
});

describe('openstacksdk with password auth', () => {
  it('does the same: the admin makes a profile, a member its ARQ, a member may not make a profile', async () => {
    const profile = `ks-sdk-dp-${randomUUID().slice(0, 8)}`;
    const made = (await sdk(
      'admin',
      `dp = c.accelerator.create_device_profile(name='${profile}', groups=[{'resources:FPGA': '1'}])
print(json.dumps({'id': dp.id, 'names': [p.name for p in c.accelerator.device_profiles()]}))`,
    )) as { id: string; names: string[] };
    expect(made.names).toContain(profile);

    const member = (await sdk(
      'member',
      `arq = c.accelerator.create_accelerator_request(device_profile_name='${profile}', device_profile_group_id=0)
one = c.accelerator.get_accelerator_request(arq.id)
listed = [a.id for a in c.accelerator.accelerator_requests()]
c.accelerator.delete_accelerator_request(arq.id)
after = [a.id for a in c.accelerator.accelerator_requests()]
try:
    c.accelerator.create_device_profile(name='sdk-by-member', groups=[{'resources:FPGA': '1'}])
    refused = None
except openstack.exceptions.HttpException as e:
    refused = {'status': e.status_code, 'message': str(e)}
print(json.dumps({'id': arq.id, 'state': one.state, 'listed': arq.id in listed, 'after': arq.id in after, 'refused': refused}))`,
    )) as { id: string; state: string; listed: boolean; after: boolean; refused: { status: number; message: string } };
    expect(member).toEqual({
      id: expect.any(String),
      state: 'Initial',
      listed: true,
      after: false,
      refused: {
        status: 403,
        message: expect.stringContaining('Access was denied to the following resource: cyborg:device_profile:create'),
      },
    });
    await sdk('admin', `c.accelerator.delete_device_profile('${made.id}')\nprint('{}')`);
  });
});
