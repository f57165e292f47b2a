import type { CyborgEvent } from '@cyborg/contracts';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import {
  agentSubject,
  AgentWork,
  type BindArqsResult,
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type DeleteArqsResult,
  type ReportInventoryResult,
} from '@cyborg/contracts';
import { EventStore } from '@cyborg/event-store';
import { RpcClient, RpcFailure } from '@cyborg/messaging';
import { arqsProjection, Projections } from '@cyborg/projections';
import { type TestDatabase } from '../support/database';
import { FakeNova } from '../support/fake-nova';
import { TestSystem } from '../support/system';
import {
  type Answer,
  type ArqBody,
  bindOps,
  eventually,
  fault,
  hostState,
  http,
  novaFor,
  unbindOps,
  unique,
  userOf,
} from './support';

/**
 * The ARQ lifecycle end to end (Cyborg §5, §10, §13): HTTP → conductor →
 * ARQ and host streams → the host's agent → Nova's external events, against
 * a real PostgreSQL, a private NATS, one agent (fake and simulated drivers)
 * and a recording Nova.
 */
let system: TestSystem;
let db: TestDatabase;
let nova: FakeNova;
let api: string;
let rpc: RpcClient;
let store: EventStore<CyborgEvent>;
const hostname = `arq-${randomUUID().slice(0, 6)}`;
const hostFile = () => system.hostFile;
const projectA = 'project-a';
const projectB = 'project-b';
const FAKE_HANDLES = 16;

let fakeRp: string;
let fakeDeviceUuid: string;
let fpgaProfile: string;

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(api, method, path, options);

async function createProfile(groups: Record<string, string>[]): Promise<string> {
  const name = unique('dp');
  const answer = await call('POST', '/v2/device_profiles', { json: [{ name, groups }] });
  expect(answer.status).toBe(201);
  return name;
}

async function createArqs(profile: string, project = projectA): Promise<ArqBody[]> {
  const answer = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });
  expect(answer.status).toBe(201);
  return answer.body.arqs;
}

const bind = (arq: string, rp: string, instance: string, headers = novaFor(projectA), host = hostname) =>
  call('PATCH', '/v2/accelerator_requests', { json: { [arq]: bindOps(host, rp, instance) }, headers });

const unbind = (arq: string, headers = novaFor(projectA)) =>
  call('PATCH', '/v2/accelerator_requests', { json: { [arq]: unbindOps }, headers });

const getArq = (uuid: string, headers = userOf(projectA)) =>
  call<ArqBody>('GET', `/v2/accelerator_requests/${uuid}`, { headers });

/** Waits until the ARQ's bind has ended. */
async function resolved(uuid: string): Promise<ArqBody> {
  return eventually(async () => {
    const { body } = await getArq(uuid, {});
    return body.state === 'Bound' || body.state === 'BindFailed' ? body : undefined;
  });
}

const reportNow = () =>
  rpc.request<ReportInventoryResult>(
    agentSubject(hostname, AgentWork.reportNow),
    { reason: 'test' },
    { timeoutMs: 10_000 },
  );

async function deployableRp(name: string): Promise<string> {
  const { body } = await call<{ deployables: { name: string; rp_uuid: string }[] }>(
    'GET',
    `/v2/deployables?filters.field=name&filters.value=${name}`,
  );
  return body.deployables[0].rp_uuid;
}

async function heldHandles(): Promise<Map<string, string>> {
  const state = await hostState(store, hostname);
  return new Map(
    [...state.inventory.attachHandles.values()].filter((h) => h.inUse).map((h) => [h.uuid, h.allocatedTo ?? '']),
  );
}

beforeAll(async () => {
  nova = await FakeNova.start();
  system = await TestSystem.start({
    name: 'arqs',
    hostname,
    settings: { NOVA_URL: nova.url, NOVA_AUTH_TOKEN: 'cyborg-service-token', BIND_TIMEOUT_MS: '20000' },
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  ({ db, apiUrl: api, rpc, store } = system);

  fakeRp = await eventually(() => deployableRp(`${hostname}_FakeDevice`));
  const { body } = await call<{ devices: { uuid: string; vendor: string }[] }>(
    'GET',
    `/v2/devices?hostname=${hostname}&vendor=0xABCD`,
  );
  fakeDeviceUuid = body.devices[0].uuid;
  fpgaProfile = await createProfile([{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }]);
});

afterAll(async () => {
  await system?.close();
  await nova?.close();
});

describe('Nova booting a server with an accelerator (§13)', () => {
  it('gets the profile, creates and binds the ARQs, hears the event, reads them resolved, and deletes them', async () => {
    // nova-api: the profile by name, exactly one.
    const profiles = await call<{ device_profiles: { name: string; groups: unknown[] }[] }>(
      'GET',
      `/v2/device_profiles?name=${fpgaProfile}`,
      { headers: userOf(projectA) },
    );
    expect(profiles.body.device_profiles).toHaveLength(1);

    // nova-conductor: create the ARQs, then bind them all in one PATCH with a service token.
    const [arq] = await createArqs(fpgaProfile);
    expect(arq).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      state: 'Initial',
      device_profile_name: fpgaProfile,
      device_profile_group_id: 0,
      hostname: null,
      device_rp_uuid: null,
      instance_uuid: null,
      project_id: projectA,
      attach_handle_type: '',
      attach_handle_uuid: null,
      attach_handle_info: {},
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
      updated_at: null,
      links: [{ href: `${api}/accelerator/v2/accelerator_requests/${arq.uuid}`, rel: 'self' }],
    });
    const instance = randomUUID();
    nova.answer({ status: 503 }); // Nova is briefly away: the event is sent again.
    const bound = await bind(arq.uuid, fakeRp, instance);
    expect(bound.status).toBe(202);
    expect(bound.text).toBe('');

    // Cyborg tells Nova, once the bind has ended.
    expect(await nova.eventFor(arq.uuid)).toEqual({
      name: 'accelerator-request-bound',
      server_uuid: instance,
      tag: arq.uuid,
      status: 'completed',
    });
    const sent = nova.requests.filter((r) => r.events.some((e) => e.tag === arq.uuid));
    expect(sent.map((r) => r.status)).toEqual([503, 200]);
    expect(sent[1]).toMatchObject({
      method: 'POST',
      path: '/compute/v2.1/os-server-external-events',
      headers: {
        'openstack-api-version': 'compute 2.82',
        'x-openstack-nova-api-version': '2.82',
        'x-auth-token': 'cyborg-service-token',
      },
    });

    // nova-compute: the resolved ARQs of the instance, with what libvirt attaches.
    const listed = await call<{ arqs: ArqBody[] }>(
      'GET',
      `/v2/accelerator_requests?instance=${instance}&bind_state=resolved`,
      { headers: userOf(projectA) },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.arqs).toEqual([
      {
        ...arq,
        state: 'Bound',
        hostname,
        device_rp_uuid: fakeRp,
        instance_uuid: instance,
        attach_handle_type: 'TEST_PCI',
        attach_handle_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
        attach_handle_info: { domain: '0000', bus: '0c', device: '0', function: expect.stringMatching(/^[0-7]$/) },
        updated_at: expect.any(String),
      },
    ]);
    const handle = listed.body.arqs[0].attach_handle_uuid!;
    expect((await heldHandles()).get(handle)).toBe(arq.uuid);

    // Server deleted: by instance, with a service token; again is no error.
    expect(
      (await call('DELETE', `/v2/accelerator_requests?instance=${instance}`, { headers: novaFor(projectA) })).status,
    ).toBe(204);
    expect(
      (
        await call<{ arqs: ArqBody[] }>('GET', `/v2/accelerator_requests?instance=${instance}`, {
          headers: userOf(projectA),
        })
      ).body.arqs,
    ).toEqual([]);
    expect((await getArq(arq.uuid)).status).toBe(404);
    expect((await heldHandles()).has(handle)).toBe(false);
    expect(
      (await call('DELETE', `/v2/accelerator_requests?instance=${instance}`, { headers: novaFor(projectA) })).status,
    ).toBe(204);
  });

  it("takes Nova's 207 with every event 422 (instance not on a host yet) as delivered, as upstream", async () => {
    const [arq] = await createArqs(fpgaProfile);
    nova.answer({ status: 207, code: 422 });
    expect((await bind(arq.uuid, fakeRp, randomUUID())).status).toBe(202);
    await nova.eventFor(arq.uuid);
    await new Promise((r) => setTimeout(r, 500));
    expect(nova.requests.filter((r) => r.events.some((e) => e.tag === arq.uuid)).map((r) => r.status)).toEqual([207]);
    expect(
      (await call('DELETE', `/v2/accelerator_requests?arqs=${arq.uuid}`, { headers: novaFor(projectA) })).status,
    ).toBe(204);
  });
});

describe('allocation, decided on the host stream', () => {
  it('gives 50 concurrent binds on 16 handles exactly 16 handles: 16 Bound, 34 BindFailed, none held twice', async () => {
    const profile = await createProfile([{ 'resources:FPGA': '50' }]);
    const arqs = await createArqs(profile);
    expect(arqs).toHaveLength(50);
    const versionBefore = await store.streamVersion(`host-${hostname}`);

    const answers = await Promise.all(arqs.map((arq) => bind(arq.uuid, fakeRp, randomUUID())));
    expect(answers.filter((a) => a.status === 202)).toHaveLength(FAKE_HANDLES);
    const refused = answers.filter((a) => a.status !== 202);
    expect(new Set(refused.map((a) => a.status))).toEqual(new Set([409]));
    expect(fault(refused[0])).toMatch(/all 16 attach handles of deployable .*_FakeDevice on host .* are in use/);

    const ended = await Promise.all(arqs.map((arq) => resolved(arq.uuid)));
    const boundArqs = ended.filter((a) => a.state === 'Bound');
    expect(boundArqs).toHaveLength(FAKE_HANDLES);
    expect(ended.filter((a) => a.state === 'BindFailed')).toHaveLength(50 - FAKE_HANDLES);
    expect(new Set(boundArqs.map((a) => a.attach_handle_uuid)).size).toBe(FAKE_HANDLES);

    // The host stream holds each handle once, by exactly the Bound ARQs.
    const held = await heldHandles();
    expect(held.size).toBe(FAKE_HANDLES);
    expect(new Set(held.values())).toEqual(new Set(boundArqs.map((a) => a.uuid)));
    const holder = new Map<string, string>();
    for (const event of await store.readStream(`host-${hostname}`, { fromVersion: versionBefore })) {
      const { uuid, arqUuid } = event.data as { uuid: string; arqUuid: string };
      if (event.type === 'AttachHandleAllocated') {
        expect(holder.has(uuid)).toBe(false);
        holder.set(uuid, arqUuid);
      }
      if (event.type === 'AttachHandleReleased') holder.delete(uuid);
    }

    // Nova heard of every ARQ, each with how its bind ended.
    const statuses = await Promise.all(arqs.map((arq) => nova.eventFor(arq.uuid).then((e) => e.status)));
    expect(statuses.filter((s) => s === 'completed')).toHaveLength(FAKE_HANDLES);
    expect(statuses.filter((s) => s === 'failed')).toHaveLength(50 - FAKE_HANDLES);

    const deleted = await call('DELETE', `/v2/accelerator_requests?arqs=${arqs.map((a) => a.uuid).join('%2C')}`, {
      headers: novaFor(projectA),
    });
    expect(deleted.status).toBe(204);
    expect((await heldHandles()).size).toBe(0);
  });

  it('fails a bind to an unknown resource provider or host at once, with the reason, and tells Nova', async () => {
    const [arq, other] = [...(await createArqs(fpgaProfile)), ...(await createArqs(fpgaProfile))];
    const unknownRp = randomUUID();
    const instance = randomUUID();
    const answer = await bind(arq.uuid, unknownRp, instance);
    expect(answer.status).toBe(404);
    expect(fault(answer)).toBe(`Deployable not found with resource provider uuid=${unknownRp} on host ${hostname}`);
    expect((await getArq(arq.uuid)).body).toMatchObject({
      state: 'BindFailed',
      hostname,
      device_rp_uuid: unknownRp,
      instance_uuid: instance,
      attach_handle_type: '',
      attach_handle_info: {},
    });
    expect(await nova.eventFor(arq.uuid)).toMatchObject({ server_uuid: instance, status: 'failed' });

    const elsewhere = await bind(other.uuid, fakeRp, randomUUID(), novaFor(projectA), 'nowhere.example.com');
    expect(elsewhere.status).toBe(404);
    expect(fault(elsewhere)).toBe('Host nowhere.example.com is not known: no agent has registered it.');
    expect((await nova.eventFor(other.uuid)).status).toBe('failed');

    // A failed ARQ is bound no more: Cyborg's state rule, then Nova deletes it.
    const again = await bind(arq.uuid, fakeRp, randomUUID());
    expect(again.status).toBe(409);
    expect(fault(again)).toBe(`Bad state: BindFailed for ARQ: ${arq.uuid}. Expected state(s): ['Initial', 'Unbound']`);
    const deleted = await call('DELETE', `/v2/accelerator_requests?arqs=${arq.uuid},${other.uuid}`, {
      headers: novaFor(projectA),
    });
    expect(deleted.status).toBe(204);
  });

  it('refuses a disabled device until it is enabled again', async () => {
    expect((await call('POST', `/v2/devices/${fakeDeviceUuid}/disable`, { headers: userOf(projectA) })).status).toBe(
      403,
    );
    const disabled = await call('POST', `/v2/devices/${fakeDeviceUuid}/disable`);
    expect(disabled.status).toBe(200);
    expect(disabled.text).toBe('');
    const device = await call<{ status: string }>('GET', `/v2/devices/${fakeDeviceUuid}`, {
      headers: { 'OpenStack-API-Version': 'accelerator 2.3' },
    });
    expect(device.body.status).toBe('maintaining');

    const [arq] = await createArqs(fpgaProfile);
    const refused = await bind(arq.uuid, fakeRp, randomUUID());
    expect(refused.status).toBe(409);
    expect(fault(refused)).toMatch(/is disabled \(maintaining\); enable it before binding to it\.$/);
    expect((await getArq(arq.uuid)).body.state).toBe('BindFailed');

    expect((await call('POST', `/v2/devices/${fakeDeviceUuid}/enable`)).status).toBe(200);
    // Unbinding a failed ARQ makes it bindable again (Cyborg §10.2).
    expect((await unbind(arq.uuid)).status).toBe(202);
    expect((await getArq(arq.uuid)).body).toMatchObject({ state: 'Unbound', hostname: null, instance_uuid: null });
    expect((await bind(arq.uuid, fakeRp, randomUUID())).status).toBe(202);
    expect((await resolved(arq.uuid)).state).toBe('Bound');
    expect((await call('DELETE', `/v2/accelerator_requests/${arq.uuid}`, { headers: novaFor(projectA) })).status).toBe(
      204,
    );
  });

  it('unbind gives the handle back, and the ARQ can be bound again', async () => {
    const [arq] = await createArqs(fpgaProfile);
    expect((await bind(arq.uuid, fakeRp, randomUUID())).status).toBe(202);
    const { attach_handle_uuid: handle } = await resolved(arq.uuid);
    expect((await heldHandles()).get(handle!)).toBe(arq.uuid);

    expect((await unbind(arq.uuid)).status).toBe(202);
    expect((await heldHandles()).has(handle!)).toBe(false);
    const events = await store.readStream(`host-${hostname}`);
    expect(events[events.length - 1]).toMatchObject({
      type: 'AttachHandleReleased',
      data: { uuid: handle, arqUuid: arq.uuid },
    });
    expect((await getArq(arq.uuid)).body).toMatchObject({
      state: 'Unbound',
      hostname: null,
      device_rp_uuid: null,
      instance_uuid: null,
      attach_handle_uuid: null,
      project_id: projectA,
    });
    // Unbinding again changes nothing.
    expect((await unbind(arq.uuid)).status).toBe(202);
    expect(
      (await call('DELETE', `/v2/accelerator_requests?arqs=${arq.uuid}`, { headers: userOf(projectA) })).status,
    ).toBe(204);
  });

  it("frees the handle of an ARQ deleted by instance at once, though the API's read model did not list it", async () => {
    const [arq] = await createArqs(fpgaProfile);
    const instance = randomUUID();
    expect((await bind(arq.uuid, fakeRp, instance)).status).toBe(202);
    const { attach_handle_uuid: handle } = await resolved(arq.uuid);
    // What a delete by instance sends when the API's read model lags behind the bind: no ARQs named.
    const deleted = await rpc.request<CommandReply<DeleteArqsResult>>(conductorSubject(ConductorCommands.deleteArqs), {
      commandId: randomUUID(),
      caller: { roles: ['service'], service: true, projectId: projectA },
      uuids: [],
      instanceUuid: instance,
    });
    expect(deleted.result.deleted).toEqual([arq.uuid]);
    expect((await heldHandles()).has(handle!)).toBe(false);
    // The instance is free for its next ARQ, which binds.
    const [next] = await createArqs(fpgaProfile);
    expect((await bind(next.uuid, fakeRp, instance)).status).toBe(202);
    expect((await resolved(next.uuid)).state).toBe('Bound');
    const gone = await call('DELETE', `/v2/accelerator_requests?instance=${instance}`, { headers: novaFor(projectA) });
    expect(gone.status).toBe(204);
    expect((await heldHandles()).size).toBe(0);
  });

  it('lets one of two concurrent binds of different ARQs to one instance through, decided on its stream', async () => {
    const arqs = [...(await createArqs(fpgaProfile)), ...(await createArqs(fpgaProfile))];
    const instance = randomUUID();
    // Straight to the conductor, as two API processes whose read models both showed the instance empty.
    const outcomes = await Promise.allSettled(
      arqs.map((arq) =>
        rpc.request<CommandReply<BindArqsResult>>(conductorSubject(ConductorCommands.bindArqs), {
          commandId: randomUUID(),
          caller: { roles: ['service'], service: true, projectId: projectA },
          bindings: [{ uuid: arq.uuid, hostname, deviceRpUuid: fakeRp, instanceUuid: instance }],
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(RpcFailure);
    expect(refused.reason).toMatchObject({
      status: 400,
      message: `Couldn't apply patch. Reason: Instance ${instance} already has accelerator requests. Cannot bind additional ARQs.`,
    });
    expect(
      (await call('DELETE', `/v2/accelerator_requests?instance=${instance}`, { headers: novaFor(projectA) })).status,
    ).toBe(204);
    for (const arq of arqs) {
      await call('DELETE', `/v2/accelerator_requests?arqs=${arq.uuid}`, { headers: userOf(projectA) });
    }
    expect((await heldHandles()).size).toBe(0);
  });

  it('refuses a device that left the host while a handle is in use, and removes it once that handle is released', async () => {
    const vgpuRp = await deployableRp(`${hostname}_0000:af:00.0`);
    const profile = await createProfile([{ 'resources:VGPU': '1' }]);
    const [first, second] = [...(await createArqs(profile)), ...(await createArqs(profile))];
    expect((await bind(first.uuid, vgpuRp, randomUUID())).status).toBe(202);
    const bound = await resolved(first.uuid);
    // The simulated driver created the mdev on the host; its uuid is the handle's.
    expect(bound).toMatchObject({
      state: 'Bound',
      attach_handle_type: 'MDEV',
      attach_handle_info: { asked_type: 'nvidia-223' },
    });

    const gpu = (
      await call<{ devices: { uuid: string; model: string }[] }>('GET', `/v2/devices?hostname=${hostname}&type=GPU`)
    ).body.devices.find((d) => d.model === 'NVIDIA Tesla T4')!;
    const edit = async (present: boolean) => {
      const doc = parseDocument(await readFile(hostFile(), 'utf8'));
      doc.setIn(['faults', 'devices', 'gpu1'], doc.createNode({ present }));
      await writeFile(hostFile(), String(doc));
    };
    await edit(false);
    const version = await store.streamVersion(`host-${hostname}`);
    expect(await reportNow()).toMatchObject({ changed: true });
    const drained = (await store.readStream(`host-${hostname}`, { fromVersion: version })).map((e) => e.type);
    expect(drained).toEqual(expect.arrayContaining(['AttachHandleDraining', 'DeployableDraining', 'DeviceDraining']));

    const refused = await bind(second.uuid, vgpuRp, randomUUID());
    expect(refused.status).toBe(409);
    expect(fault(refused)).toMatch(/is draining: its device has left the host and takes no new binds\.$/);

    const afterDrain = await store.streamVersion(`host-${hostname}`);
    expect((await unbind(first.uuid)).status).toBe(202);
    const released = (await store.readStream(`host-${hostname}`, { fromVersion: afterDrain })).map((e) => e.type);
    expect(released[0]).toBe('AttachHandleReleased');
    expect(released).toContain('DeviceRemoved');
    await eventually(async () => ((await call('GET', `/v2/devices/${gpu.uuid}`)).status === 404 ? true : undefined));

    await edit(true);
    expect(await reportNow()).toMatchObject({ changed: true });
    for (const arq of [first, second]) {
      expect(
        (await call('DELETE', `/v2/accelerator_requests/${arq.uuid}`, { headers: novaFor(projectA) })).status,
      ).toBe(204);
    }
  });
});

describe('ownership and service tokens (§5.7)', () => {
  it("hides another project's ARQ: 404 to show, bind, unbind or delete it; absent from lists", async () => {
    const [arq] = await createArqs(fpgaProfile, projectA);
    const notFound = `ExtArq not found with uuid=${arq.uuid}`;
    const shown = await getArq(arq.uuid, userOf(projectB));
    expect(shown.status).toBe(404);
    expect(fault(shown)).toBe(notFound);
    const listed = await call<{ arqs: ArqBody[] }>('GET', '/v2/accelerator_requests', { headers: userOf(projectB) });
    expect(listed.body.arqs.map((a) => a.uuid)).not.toContain(arq.uuid);

    const bound = await bind(arq.uuid, fakeRp, randomUUID(), novaFor(projectB));
    expect([bound.status, fault(bound)]).toEqual([404, notFound]);
    const unbound = await unbind(arq.uuid, novaFor(projectB));
    expect([unbound.status, fault(unbound)]).toEqual([404, notFound]);
    const deleted = await call('DELETE', `/v2/accelerator_requests?arqs=${arq.uuid}`, { headers: novaFor(projectB) });
    expect([deleted.status, fault(deleted)]).toEqual([404, notFound]);

    // An admin sees every project's.
    const admin = { ...userOf(projectB), 'X-Roles': 'admin,member,reader' };
    expect((await getArq(arq.uuid, admin)).body.project_id).toBe(projectA);
    expect((await call('DELETE', `/v2/accelerator_requests/${arq.uuid}`, { headers: userOf(projectA) })).status).toBe(
      204,
    );
  });

  it('needs a service token to bind, to unbind, to delete by instance, and to delete a bound ARQ', async () => {
    const [arq] = await createArqs(fpgaProfile);
    const instance = randomUUID();
    const needed = 'This operation requires a service token. Use the Compute API to manage instance accelerators.';
    const plain = await bind(arq.uuid, fakeRp, instance, userOf(projectA));
    expect([plain.status, fault(plain)]).toEqual([403, needed]);

    expect((await bind(arq.uuid, fakeRp, instance)).status).toBe(202);
    await resolved(arq.uuid);
    const again = await bind(randomUUID(), fakeRp, instance);
    expect(again.status).toBe(400);
    expect(fault(again)).toBe(
      `Couldn't apply patch. Reason: Instance ${instance} already has accelerator requests. Cannot bind additional ARQs.`,
    );
    const unbound = await unbind(arq.uuid, userOf(projectA));
    expect([unbound.status, fault(unbound)]).toEqual([403, needed]);
    const byInstance = await call('DELETE', `/v2/accelerator_requests?instance=${instance}`, {
      headers: userOf(projectA),
    });
    expect([byInstance.status, fault(byInstance)]).toEqual([403, needed]);
    const byUuid = await call('DELETE', `/v2/accelerator_requests?arqs=${arq.uuid}`, { headers: userOf(projectA) });
    expect(byUuid.status).toBe(403);
    expect(fault(byUuid)).toBe(
      `ARQ ${arq.uuid} is bound to instance ${instance}. Use the Compute API to manage instance accelerators.`,
    );
    expect(
      (await call('DELETE', `/v2/accelerator_requests?instance=${instance}`, { headers: novaFor(projectA) })).status,
    ).toBe(204);
  });
});

describe("Cyborg's rules for bad requests", () => {
  const patch = (body: unknown, headers: Record<string, string> = novaFor(projectA)) =>
    call('PATCH', '/v2/accelerator_requests', { json: body, headers });
  const expectFault = (answer: Answer, status: number, message: string) => {
    expect(answer.status).toBe(status);
    expect(fault(answer)).toBe(message);
  };

  it('validates every ARQ of a patch before anything changes', async () => {
    const [arq] = await createArqs(fpgaProfile);
    const u = arq.uuid;
    const reason = (r: string) => `Couldn't apply patch. Reason: ${r}`;
    expectFault(
      await patch({
        [u]: [...bindOps(hostname, fakeRp, randomUUID()).slice(0, 2), { path: '/instance_uuid', op: 'remove' }],
      }),
      400,
      reason('Every op must be add or remove'),
    );
    expectFault(
      await patch({ [u]: [{ path: '/state', op: 'add', value: 'Bound' }] }),
      400,
      reason('Invalid path in patch /state'),
    );
    expectFault(
      await patch({ [u]: [{ path: '/hostname', op: 'add', value: hostname }] }),
      400,
      reason('Fields absent in patch device_rp_uuid,instance_uuid'),
    );
    const withProject = {
      [u]: [...bindOps(hostname, fakeRp, randomUUID()), { path: '/project_id', op: 'add', value: projectB }],
    };
    expectFault(
      await patch(withProject),
      406,
      'Request not acceptable. The minimal required API version should be 2.1',
    );
    expectFault(
      await patch(withProject, { ...novaFor(projectA), 'OpenStack-API-Version': 'accelerator 2.1' }),
      403,
      'Access was denied to the following resource: cyborg:arq:update',
    );
    expect((await getArq(u)).body.state).toBe('Initial');

    // An admin at 2.1 may bind for another project: the ARQ moves to it.
    const admin = {
      ...novaFor(projectA),
      'X-Roles': 'admin,manager,member,reader',
      'OpenStack-API-Version': 'accelerator 2.1',
    };
    expect((await patch(withProject, admin)).status).toBe(202);
    expect((await getArq(u, admin)).body.project_id).toBe(projectB);
    expect((await call('DELETE', `/v2/accelerator_requests/${u}`, { headers: admin })).status).toBe(204);
  });

  it('answers bad queries and bodies with 4xx in Cyborg words, never 500', async () => {
    expectFault(await call('GET', '/v2/accelerator_requests?instance=nope'), 400, 'Expected a uuid but received nope.');
    expectFault(
      await call('GET', '/v2/accelerator_requests?bind_state=started'),
      400,
      "Bad state: started for ARQ: None. Expected state(s): ['resolved']",
    );
    expectFault(await call('GET', '/v2/accelerator_requests?sort_key=id'), 400, 'Unknown argument: "sort_key"');
    const notUuid = await call('GET', '/v2/accelerator_requests/not-a-uuid');
    expect(notUuid.status).toBe(400);
    expect(fault(notUuid)).toContain('Expected a uuid but received not-a-uuid.');
    expectFault(await call('POST', '/v2/accelerator_requests', { json: {} }), 400, 'DeviceProfile name needed.');
    for (const name of ['', 'fake_dp', '!@#$%^&*()=-[]']) {
      expectFault(
        await call('POST', '/v2/accelerator_requests', { json: { device_profile_name: name } }),
        404,
        `Device Profile not found with name=${name}`,
      );
    }
    const missing = randomUUID();
    expectFault(
      await call('DELETE', `/v2/accelerator_requests?arqs=${missing}`),
      404,
      `ExtArq not found with uuid=${missing}`,
    );
    expectFault(
      await call('DELETE', '/v2/accelerator_requests'),
      400,
      'Object action delete failed because: Provide either an ARQ uuid list or an instance UUID',
    );
  });
});

describe('the arqs read model', () => {
  it('rebuilds into the same rows, byte for byte', async () => {
    const [bound, failed, initial] = [
      ...(await createArqs(fpgaProfile)),
      ...(await createArqs(fpgaProfile)),
      ...(await createArqs(fpgaProfile)),
    ];
    expect((await bind(bound.uuid, fakeRp, randomUUID())).status).toBe(202);
    expect((await bind(failed.uuid, randomUUID(), randomUUID())).status).toBe(404);
    await resolved(bound.uuid);
    const dump = async () =>
      JSON.stringify(await db.dataSource.query(`SELECT to_jsonb(a)::text AS row FROM arqs a ORDER BY id`));
    const before = await dump();
    expect(before).toContain(initial.uuid);
    await new Projections([arqsProjection], store, { dataSource: db.dataSource, databaseUrl: db.url }).rebuild('arqs');
    await eventually(async () => ((await dump()) === before ? true : undefined));
  });
});
