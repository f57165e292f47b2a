import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { RunningService } from '@cyborg/config';
import { AgentWork, agentSubject, DeployableProgrammed, type DeployableProgrammedV1, Streams } from '@cyborg/contracts';
import { resourceProviderUuid } from '@cyborg/domain';
import { startAgent } from '../../apps/agent/src/start';
import { type ArqBody, bindOps, eventually, fault, hostState, http, unbindOps, unique } from '../arqs/support';
import { FakeGlance } from '../support/fake-glance';
import { FakeNova } from '../support/fake-nova';
import { quietLogger } from '../support/logger';
import { TestSystem } from '../support/system';

/**
 * FPGA programming through real NATS, PostgreSQL and HTTP: bitstreams come
 * from a Glance-shaped HTTP server, are verified before any device is
 * touched, and a refusal or a hang ends the bind in BindFailed with the
 * reason (upstream reports success whatever the driver said).
 */
const BIND_TIMEOUT_MS = 6000;
const hostname = `prog-${randomUUID().slice(0, 6)}`;
// The example host's FPGA: a PF grouping 4 VF deployables with one PCI handle each.
const vf = (n: number) => `${hostname}_0000:5e:00.${n}`;
const gpu = `${hostname}_0000:3b:00.0`;
let system: TestSystem;
let glance: FakeGlance;
let nova: FakeNova;

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(system.apiUrl, method, path, options);

async function profileWith(group: Record<string, string>): Promise<string> {
  const name = unique('fpga');
  const answer = await call('POST', '/v2/device_profiles', { json: [{ name, groups: [group] }] });
  expect(answer.status).toBe(201);
  return name;
}

async function arqOf(profile: string): Promise<string> {
  const answer = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
  });
  expect(answer.status).toBe(201);
  return answer.body.arqs[0].uuid;
}

/** Binds and waits for the end: the ARQ as the API then shows it, with why a failed bind failed. */
async function bindAndWait(arq: string, deployable: string, host = hostname) {
  const instance = randomUUID();
  const answer = await call('PATCH', `/v2/accelerator_requests/${arq}`, {
    json: { [arq]: bindOps(host, resourceProviderUuid(deployable), instance) },
  });
  // A bind that cannot start fails at once: 409 with the reason, the ARQ recorded BindFailed.
  if (answer.status !== 202) {
    const got = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`);
    return { state: got.body.state, reason: fault(answer), instance, status: answer.status };
  }
  const body = await eventually(async () => {
    const got = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`);
    return ['Bound', 'BindFailed'].includes(got.body.state) ? got.body : undefined;
  }, BIND_TIMEOUT_MS + 5000);
  const rows: { bind_failure: string | null }[] = await system.db.dataSource.query(
    `SELECT bind_failure FROM arqs WHERE uuid = $1`,
    [arq],
  );
  return { state: body.state, reason: rows[0]?.bind_failure ?? null, instance, status: answer.status };
}

const unbind = (arq: string) => call('PATCH', `/v2/accelerator_requests/${arq}`, { json: { [arq]: unbindOps } });

async function deployable(name: string) {
  const list = await call<{ deployables: { uuid: string; name: string; bitstream_id: string | null }[] }>(
    'GET',
    '/v2/deployables',
  );
  const found = list.body.deployables.find((d) => d.name === name);
  if (!found) throw new Error(`no deployable ${name}`);
  return found;
}

async function programmedEvents(): Promise<DeployableProgrammedV1[]> {
  const events = await system.store.readStream(Streams.host(hostname));
  return events
    .filter((e) => e.type === DeployableProgrammed.type)
    .map((e) => e.data as unknown as DeployableProgrammedV1);
}

async function setProgramFault(fault: 'ok' | 'fail' | 'hang') {
  const yaml = await readFile(system.hostFile, 'utf8');
  const faults = fault === 'ok' ? '  devices: {}' : `  devices:\n    fpga0: { program: ${fault} }`;
  await writeFile(system.hostFile, yaml.replace(/^ {2}devices:.*(\n {4}\S.*)*/m, faults));
}

beforeAll(async () => {
  glance = await FakeGlance.start();
  nova = await FakeNova.start();
  system = await TestSystem.start({
    name: 'programming',
    hostname,
    settings: { BIND_TIMEOUT_MS: String(BIND_TIMEOUT_MS), NOVA_URL: nova.url, HOST_DOWN_AFTER_MS: '1500' },
    agentSettings: { BITSTREAM_SOURCE: `glance+${glance.url}` },
  });
  await eventually(async () => ((await deployable(vf(1))) ? true : undefined));
}, 60_000);

afterAll(async () => {
  await system?.close();
  await glance?.close();
  await nova?.close();
});

describe('programming during bind (FPGA as a Service)', () => {
  it('programs the verified bitstream, then binds; the deployable shows it and its function trait changes', async () => {
    const image = glance.add({ functionId: 'crypto-1.0' });
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1', 'accel:bitstream_id': image.id }));
    const bound = await bindAndWait(arq, vf(1));
    expect(bound).toMatchObject({ state: 'Bound', reason: null });
    expect(glance.downloads(image.id)).toBe(1);
    expect((await deployable(vf(1))).bitstream_id).toBe(image.id);
    const [programmed] = await programmedEvents();
    expect(programmed).toMatchObject({
      name: vf(1),
      bitstreamId: image.id,
      functionId: 'crypto-1.0',
      functionTrait: 'CUSTOM_FPGA_FUNCTION_ID_INTEL_CRYPTO_1_0',
      checksum: { algorithm: 'sha512' },
      arqUuid: arq,
    });
    // Nova hears of it like of any bind.
    await eventually(async () =>
      nova.requests.some((r) => r.events.some((e) => e.tag === arq && e.status === 'completed')) ? true : undefined,
    );

    // The deployable carries it now: binding it again downloads and programs nothing.
    expect((await unbind(arq)).status).toBe(202);
    expect(await bindAndWait(arq, vf(1))).toMatchObject({ state: 'Bound', reason: null });
    expect(glance.downloads(image.id)).toBe(1);
    expect(await programmedEvents()).toHaveLength(1);
    expect((await unbind(arq)).status).toBe(202);
  });

  it('finds the one bitstream of a function (Accelerated Function as a Service)', async () => {
    const image = glance.add({ functionId: 'compress-2' });
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1', 'accel:function_id': 'compress-2' }));
    expect(await bindAndWait(arq, vf(2))).toMatchObject({ state: 'Bound', reason: null });
    expect(glance.requests).toContain('/v2/images?accel%3Afunction_id=compress-2&status=active');
    expect((await deployable(vf(2))).bitstream_id).toBe(image.id);
    expect((await unbind(arq)).status).toBe(202);
  });

  it('refuses a bitstream whose bytes do not match its published checksum, before touching the device', async () => {
    const image = glance.add({ publishedHash: 'ab'.repeat(64) });
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1', 'accel:bitstream_id': image.id }));
    const failed = await bindAndWait(arq, vf(3));
    expect(failed.state).toBe('BindFailed');
    expect(failed.reason).toContain(`bitstream ${image.id} fails its sha512 check`);
    expect((await deployable(vf(3))).bitstream_id).toBeNull();
    expect((await call('DELETE', `/v2/accelerator_requests/${arq}`)).status).toBe(204);
  });

  it('fails the bind when the image is unknown, or when the device refuses the bitstream', async () => {
    const missing = await arqOf(await profileWith({ 'resources:FPGA': '1', 'accel:bitstream_id': randomUUID() }));
    const unknown = await bindAndWait(missing, vf(3));
    expect(unknown.state).toBe('BindFailed');
    expect(unknown.reason).toMatch(/not found in Glance/);
    // A failed bind keeps its handle until unbind or delete.
    expect((await call('DELETE', `/v2/accelerator_requests/${missing}`)).status).toBe(204);

    await setProgramFault('fail');
    const image = glance.add();
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1', 'accel:bitstream_id': image.id }));
    const refused = await bindAndWait(arq, vf(3));
    expect(refused.state).toBe('BindFailed');
    expect(refused.reason).toContain('refused the bitstream');
    await setProgramFault('ok');
    expect((await call('DELETE', `/v2/accelerator_requests/${arq}`)).status).toBe(204);
  });

  it('ends a programming that hangs at the deadline, in BindFailed', async () => {
    await setProgramFault('hang');
    const image = glance.add();
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1', 'accel:bitstream_id': image.id }));
    const started = Date.now();
    const hung = await bindAndWait(arq, vf(4));
    expect(hung.state).toBe('BindFailed');
    expect(hung.reason).toMatch(/did not finish/);
    expect(Date.now() - started).toBeLessThan(BIND_TIMEOUT_MS + 3000);
    await setProgramFault('ok');
    expect((await call('DELETE', `/v2/accelerator_requests/${arq}`)).status).toBe(204);
  }, 20_000);

  it('refuses at once to program a device that is not an FPGA, or one another ARQ is using', async () => {
    const image = glance.add();
    const onGpu = await arqOf(await profileWith({ 'resources:PGPU': '1', 'accel:bitstream_id': image.id }));
    const gpuBind = await bindAndWait(onGpu, gpu);
    expect(gpuBind.state).toBe('BindFailed');
    expect(gpuBind.reason).toContain('not an FPGA');

    const plain = await arqOf(await profileWith({ 'resources:FPGA': '1' }));
    expect(await bindAndWait(plain, vf(1))).toMatchObject({ state: 'Bound', reason: null });
    const other = glance.add();
    const reprogram = await arqOf(await profileWith({ 'resources:FPGA': '1', 'accel:bitstream_id': other.id }));
    const busy = await bindAndWait(reprogram, vf(2));
    expect(busy.state).toBe('BindFailed');
    expect(busy.reason).toContain(`in use by ${plain}`);
    expect(glance.downloads(other.id)).toBe(0);
    for (const uuid of [onGpu, plain, reprogram])
      expect((await call('DELETE', `/v2/accelerator_requests/${uuid}`)).status).toBe(204);
  });
});

describe('PATCH /v2/deployables/{uuid}/program', () => {
  const program = (uuid: string, body: unknown, path = `/v2/deployables/${uuid}/program`) =>
    call<{ uuid: string; bitstream_id: string | null }>('PATCH', path, { json: body });
  const ops = (image: string) => [{ path: '/program', op: 'replace', value: [{ image_uuid: image }] }];

  it('programs and answers with the deployable carrying the bitstream; again, it does nothing', async () => {
    const image = glance.add();
    const target = await deployable(vf(3));
    const answer = await program(target.uuid, ops(image.id));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ uuid: target.uuid, bitstream_id: image.id });
    expect(answer.body).toMatchObject({ uuid: target.uuid, bitstream_id: image.id });
    const again = await program(target.uuid, ops(image.id), `/v2/deployables/${target.uuid}/program/${target.uuid}`);
    expect(again.status).toBe(200);
    expect(glance.downloads(image.id)).toBe(1);
  });

  it('answers bad requests with 4xx saying what is wrong', async () => {
    const target = await deployable(vf(4));
    const notUuid = await program(target.uuid, [{ path: '/program', op: 'replace', value: [{ image_uuid: 'x' }] }]);
    expect([notUuid.status, fault(notUuid)]).toEqual([400, 'Expected a uuid but received x.']);
    expect((await program(target.uuid, { image_uuid: randomUUID() })).status).toBe(400);
    expect((await program(target.uuid, [{ path: 'program', op: 'replace', value: [] }])).status).toBe(400);
    expect((await program(target.uuid, [{ path: '/program', op: 'move', value: [] }])).status).toBe(400);
    expect((await program(randomUUID(), ops(randomUUID()))).status).toBe(404);
    const unknownImage = await program(target.uuid, ops(randomUUID()));
    expect(unknownImage.status).toBe(400);
    expect(fault(unknownImage)).toMatch(/FPGA programming failed: .*not found in Glance/);
    const tampered = await program(target.uuid, ops(glance.add({ publishedHash: '00'.repeat(64) }).id));
    expect(tampered.status).toBe(422);
    const onGpu = await program((await deployable(gpu)).uuid, ops(glance.add().id));
    expect(onGpu.status).toBe(409);
    expect((await deployable(vf(4))).bitstream_id).toBeNull();
  });

  it('refuses to reprogram a device in use (409), and only an accelerator admin may program (403)', async () => {
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1' }));
    expect(await bindAndWait(arq, vf(1))).toMatchObject({ state: 'Bound', reason: null });
    const busy = await program((await deployable(vf(2))).uuid, ops(glance.add().id));
    expect(busy.status).toBe(409);
    expect(fault(busy)).toContain(arq);
    expect((await call('DELETE', `/v2/accelerator_requests/${arq}`)).status).toBe(204);
    const member = await call('PATCH', `/v2/deployables/${(await deployable(vf(2))).uuid}/program`, {
      json: ops(glance.add().id),
      headers: { 'X-User-Id': 'u', 'X-Project-Id': 'p', 'X-Roles': 'member' },
    });
    expect(member.status).toBe(403);
  });
});

describe('host liveness and agent restarts', () => {
  const other = `prog-b-${randomUUID().slice(0, 6)}`;
  let agent: RunningService | null = null;
  const startOther = async (extra: Record<string, string> = {}) =>
    startAgent(
      system.settings({
        AGENT_HOSTNAME: other,
        AGENT_DRIVERS: 'fake',
        AGENT_HEARTBEAT_INTERVAL_MS: '200',
        ...extra,
      }),
      quietLogger,
    );

  afterAll(async () => {
    await agent?.close();
  });

  it('a bind asked while the host agent restarts completes once it is back (the conductor retries)', async () => {
    agent = await startOther();
    const fake = `${other}_FakeDevice`;
    await eventually(async () => ((await deployable(fake)) ? true : undefined));
    await agent.close();
    agent = null;
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }));
    const instance = randomUUID();
    const answer = await call('PATCH', `/v2/accelerator_requests/${arq}`, {
      json: { [arq]: bindOps(other, resourceProviderUuid(fake), instance) },
    });
    expect(answer.status).toBe(202);
    expect((await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`)).body.state).toBe('BindStarted');
    agent = await startOther();
    const bound = await eventually(async () => {
      const got = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`);
      return got.body.state === 'Bound' ? got.body : undefined;
    }, BIND_TIMEOUT_MS);
    expect(bound.attach_handle_type).toBe('TEST_PCI');
    expect((await call('DELETE', `/v2/accelerator_requests/${arq}`)).status).toBe(204);
  });

  it('marks a silent host down (binds fail at once), and up again when its agent is heard', async () => {
    // The test system's conductor marks hosts down after HOST_DOWN_AFTER_MS (set low below).
    expect(agent).not.toBeNull();
    // Hosts are watched once their agent sent a heartbeat (every 200 ms here).
    await eventually(async () => {
      const rows: unknown[] = await system.db.dataSource.query(`SELECT 1 FROM host_heartbeats WHERE hostname = $1`, [
        other,
      ]);
      return rows.length > 0 ? true : undefined;
    });
    await agent!.close();
    agent = null;
    await eventually(async () => ((await hostState(system.store, other)).down ? true : undefined), 15_000);
    const fake = `${other}_FakeDevice`;
    const arq = await arqOf(await profileWith({ 'resources:FPGA': '1' }));
    const started = Date.now();
    const down = await bindAndWait(arq, fake, other);
    expect(down.state).toBe('BindFailed');
    expect(down.reason).toContain(`Host ${other} is down`);
    expect(Date.now() - started).toBeLessThan(BIND_TIMEOUT_MS);

    agent = await startOther();
    await eventually(async () => ((await hostState(system.store, other)).down ? undefined : true), 10_000);
    expect((await unbind(arq)).status).toBe(202);
    expect(await bindAndWait(arq, fake, other)).toMatchObject({ state: 'Bound', reason: null });
    const answered = await system.rpc.request<{ hostname: string }>(agentSubject(other, AgentWork.ping), {});
    expect(answered.hostname).toBe(other);
    expect((await call('DELETE', `/v2/accelerator_requests/${arq}`)).status).toBe(204);
  }, 40_000);
});
