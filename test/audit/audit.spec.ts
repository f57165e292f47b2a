import type { CyborgEvent } from '@cyborg/contracts';
import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument, YAMLMap } from 'yaml';
import {
  type AuditEvent,
  AuditLog,
  type History,
  historyOf,
  type HostRecord,
  stateAt,
  usageOf,
  type UsageReport,
} from '@cyborg/audit';
import { agentSubject, AgentWork, type ReportInventoryResult } from '@cyborg/contracts';
import type { EventStore } from '@cyborg/event-store';
import { TestSystem } from '../support/system';
import {
  type Answer,
  type ArqBody,
  bindOps,
  eventually,
  http,
  novaFor,
  unbindOps,
  unique,
  userOf,
} from '../arqs/support';
import { Cli } from './cli';

/**
 * Operators' audit end to end: a scripted day of activity through the real
 * API (profiles, ARQs bound and unbound, devices added, removed, disabled),
 * then the history of each thing, the state at recorded moments, usage,
 * the REST endpoints and the CLI against the same database, and a tampered
 * event found by `verify`.
 */
let system: TestSystem;
let api: string;
let store: EventStore<CyborgEvent>;
let log: AuditLog;
let cli: Cli;
const hostname = `audit-${randomUUID().slice(0, 6)}`;
const A = 'project-a';
const B = 'project-b';
// The cloud admin: the admin role on a project-scoped token (2023 secure RBAC).
const ops = { 'X-User-Id': 'ops', 'X-Project-Id': 'ops-project', 'X-Roles': 'admin,manager,member,reader' };
const V23 = { 'OpenStack-API-Version': 'accelerator 2.3' };
const personas: Record<string, Record<string, string>> = {
  member: userOf(A),
  reader: { 'X-User-Id': 'r', 'X-Project-Id': A, 'X-Roles': 'reader' },
  nova: novaFor(A),
};

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(api, method, path, options);

type Body = Record<string, unknown>;
const withoutLinks = ({ links: _links, ...rest }: Body): Body => rest;

/** What the API answered at one moment, and when that was (a time and the log's last position). */
interface Moment {
  label: string;
  at: Date;
  position: number;
  arqs: Map<string, Body | null>;
  devices: Map<string, Body | null>;
  hostDevices: Body[];
  deployables: Body[];
  attributes: Body[];
}

const moments: Moment[] = [];
const arqUuids: string[] = [];
const projectOfArq = new Map<string, string>();
const requestIds: Record<string, string> = {};
let devices: Record<'gpu' | 'nvme' | 'qat', string>;
let addedDevice: string;
let profileGpu: string;
let profileMix: string;
let a1: string;
let b1: string;
let b2: string;
let instanceA: string;
let instanceB: string;

async function logPosition(): Promise<number> {
  const rows: { head: string }[] = await system.db.dataSource.query(
    `SELECT coalesce(max(position), 0) AS head FROM events`,
  );
  return Number(rows[0].head);
}

/** Waits until every read model of the API has read the whole log. */
async function readModelsCaughtUp(): Promise<void> {
  await eventually(async () => {
    const rows: { behind: number }[] = await system.db.dataSource.query(
      `SELECT count(*)::int AS behind FROM checkpoints c, (
         SELECT transaction_id, position FROM events ORDER BY transaction_id DESC, position DESC LIMIT 1) last
       WHERE c.name LIKE 'projection:%' AND (c.transaction_id, c.position) < (last.transaction_id, last.position)`,
    );
    return rows[0].behind === 0 ? true : undefined;
  });
}

/** Reads everything the API shows, while nothing is appended; retried if something was. */
async function record(label: string): Promise<Moment> {
  for (;;) {
    await readModelsCaughtUp();
    const before = await logPosition();
    const moment: Moment = {
      label,
      at: new Date(0),
      position: before,
      arqs: new Map(),
      devices: new Map(),
      hostDevices: [],
      deployables: [],
      attributes: [],
    };
    for (const uuid of arqUuids) {
      const answer = await call<Body>('GET', `/v2/accelerator_requests/${uuid}`, { headers: ops });
      moment.arqs.set(uuid, answer.status === 200 ? withoutLinks(answer.body) : null);
    }
    for (const uuid of [...Object.values(devices), ...(addedDevice ? [addedDevice] : [])]) {
      const answer = await call<Body>('GET', `/v2/devices/${uuid}`, { headers: { ...ops, ...V23 } });
      moment.devices.set(uuid, answer.status === 200 ? withoutLinks(answer.body) : null);
    }
    const listed = await call<{ devices: Body[] }>('GET', `/v2/devices?hostname=${hostname}`, {
      headers: { ...ops, ...V23 },
    });
    moment.hostDevices = listed.body.devices.map(withoutLinks);
    moment.deployables = (
      await call<{ deployables: Body[] }>('GET', '/v2/deployables', { headers: ops })
    ).body.deployables.map(withoutLinks);
    moment.attributes = (
      await call<{ attributes: Body[] }>('GET', '/v2/attributes', { headers: ops })
    ).body.attributes.map(withoutLinks);
    moment.at = new Date();
    if ((await logPosition()) === before) {
      moments.push(moment);
      return moment;
    }
  }
}

const reportNow = () =>
  system.rpc.request<ReportInventoryResult>(
    agentSubject(hostname, AgentWork.reportNow),
    { reason: 'test' },
    {
      timeoutMs: 10_000,
    },
  );

async function editHost(edit: (doc: ReturnType<typeof parseDocument>) => void): Promise<void> {
  const doc = parseDocument(await readFile(system.hostFile, 'utf8'));
  edit(doc);
  await writeFile(system.hostFile, String(doc));
}

async function rpOf(name: string): Promise<string> {
  const { body } = await call<{ deployables: { name: string; rp_uuid: string }[] }>(
    'GET',
    `/v2/deployables?filters.field=name&filters.value=${encodeURIComponent(name)}`,
    { headers: ops },
  );
  return body.deployables[0].rp_uuid;
}

async function createProfile(groups: Record<string, string>[]): Promise<string> {
  const name = unique('dp');
  const answer = await call('POST', '/v2/device_profiles', { json: [{ name, groups }], headers: ops });
  expect(answer.status).toBe(201);
  return name;
}

async function createArqs(profile: string, project: string): Promise<string[]> {
  const answer = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });
  expect(answer.status).toBe(201);
  const uuids = answer.body.arqs.map((arq) => arq.uuid);
  arqUuids.push(...uuids);
  for (const uuid of uuids) projectOfArq.set(uuid, project);
  return uuids;
}

async function bound(uuid: string): Promise<void> {
  await eventually(async () => {
    const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${uuid}`, { headers: ops });
    return body.state === 'Bound' ? true : undefined;
  });
}

const requestIdOf = (answer: Answer) => answer.headers.get('x-openstack-request-id') ?? '';

/** The day, compressed: every step through the API (or the agent's host file), each followed by a recorded moment. */
async function scriptedDay(): Promise<void> {
  const listDevices = () =>
    call<{ devices: { uuid: string; model: string }[] }>('GET', `/v2/devices?hostname=${hostname}`, { headers: ops });
  // The fake driver's device and the six of the simulated host.
  const listed = await eventually(async () => {
    const answer = await listDevices();
    return answer.body.devices.length === 7 ? answer : undefined;
  });
  const byModel = (model: string) => listed.body.devices.find((d) => d.model === model)!.uuid;
  devices = {
    gpu: byModel('NVIDIA A100 80GB PCIe'),
    nvme: byModel('NVMe SSD Controller SM981/PM981/PM983'),
    qat: byModel('C62x Chipset QuickAssist Technology'),
  };
  profileGpu = await createProfile([{ 'resources:PGPU': '1', 'trait:CUSTOM_NVIDIA_20B5': 'required' }]);
  // One group, two resource classes: two ARQs that only ArqCreated v2 tells apart.
  profileMix = await createProfile([{ 'resources:FPGA': '1', 'resources:CUSTOM_NIC': '1' }]);
  await record('profiles created');

  [a1] = await createArqs(profileGpu, A);
  await record('a1 created');

  instanceA = randomUUID();
  const bindA = await call('PATCH', '/v2/accelerator_requests', {
    json: { [a1]: bindOps(hostname, await rpOf(`${hostname}_0000:3b:00.0`), instanceA) },
    headers: novaFor(A),
  });
  expect(bindA.status).toBe(202);
  requestIds.bindA = requestIdOf(bindA);
  await bound(a1);
  await record('a1 bound');

  [b1, b2] = await createArqs(profileMix, B);
  instanceB = randomUUID();
  const bindB = await call('PATCH', '/v2/accelerator_requests', {
    json: {
      [b1]: bindOps(hostname, await rpOf(`${hostname}_0000:5e:00.1`), instanceB),
      [b2]: bindOps(hostname, await rpOf(`${hostname}_0000:86:02.0`), instanceB),
    },
    headers: novaFor(B),
  });
  expect(bindB.status).toBe(202);
  requestIds.bindB = requestIdOf(bindB);
  await bound(b1);
  await bound(b2);
  await record('b1 and b2 bound');

  const disable = await call('POST', `/v2/devices/${devices.nvme}/disable`, { headers: ops });
  expect(disable.status).toBe(200);
  requestIds.disable = requestIdOf(disable);
  await record('nvme disabled');

  const unbind = await call('PATCH', '/v2/accelerator_requests', { json: { [a1]: unbindOps }, headers: novaFor(A) });
  expect(unbind.status).toBe(202);
  requestIds.unbindA = requestIdOf(unbind);
  await record('a1 unbound');

  await editHost((doc) => {
    const list = doc.get('devices') as { add(value: unknown): void };
    list.add(
      doc.createNode({
        id: 'nvme1',
        type: 'SSD',
        vendor: '144d',
        product: 'a808',
        model: 'NVMe SSD Controller SM981/PM981/PM983',
        pci: '0000:d9:00.0',
        driverName: 'SAMSUNG',
        deployables: [{ id: 'ssd', rc: 'CUSTOM_SSD', handles: { type: 'PCI' } }],
      }),
    );
  });
  expect(await reportNow()).toMatchObject({ changed: true });
  await readModelsCaughtUp();
  const ssds = (await listDevices()).body.devices.filter((d) => d.model === 'NVMe SSD Controller SM981/PM981/PM983');
  addedDevice = ssds.find((d) => d.uuid !== devices.nvme)!.uuid;
  await record('nvme1 added');

  await editHost((doc) => {
    const faults = doc.get('faults') as YAMLMap;
    faults.set('devices', doc.createNode({ qat0: { present: false } }));
  });
  expect(await reportNow()).toMatchObject({ changed: true });
  await record('qat0 removed');

  const deleteA = await call('DELETE', `/v2/accelerator_requests/${a1}`, { headers: userOf(A) });
  expect(deleteA.status).toBe(204);
  requestIds.deleteA = requestIdOf(deleteA);
  expect((await call('DELETE', `/v2/device_profiles/${profileGpu}`, { headers: ops })).status).toBe(204);
  expect((await call('POST', `/v2/devices/${devices.nvme}/enable`, { headers: ops })).status).toBe(200);
  await record('end of the day');
}

beforeAll(async () => {
  system = await TestSystem.start({
    name: 'audit',
    hostname,
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  ({ apiUrl: api, store } = system);
  log = new AuditLog(store, system.db.dataSource);
  cli = await Cli.build({ DATABASE_URL: system.db.url });
  await scriptedDay();
}, 180_000);

afterAll(async () => {
  await cli?.remove();
  await system?.close();
});

const types = (history: History | null) => history!.entries.map((e) => e.type);
const entry = (history: History | null, type: string) => history!.entries.find((e) => e.type === type)!;
const momentOf = (label: string) => moments.find((m) => m.label === label)!;

describe('history: each thing tells what happened to it, who did it, and why', () => {
  it('an ARQ: created, bound, unbound and deleted, each by whom and through which request and command', async () => {
    const history = await historyOf(log, 'arq', a1);
    expect(types(history)).toEqual(['ArqCreated', 'ArqBindStarted', 'ArqBound', 'ArqUnbound', 'ArqDeleted']);
    const created = entry(history, 'ArqCreated');
    expect(created.schema_version).toBe(2);
    expect(created.who).toMatchObject({ user_id: `user-of-${A}`, project_id: A, service: false });
    expect(created.why).toMatchObject({ command: 'create_arqs', request_id: expect.stringMatching(/^req-/) });
    expect(created.changes).toMatchObject({
      exists: { from: false, to: true },
      state: { from: null, to: 'Initial' },
      resource_class: { from: null, to: 'PGPU' },
    });
    const started = entry(history, 'ArqBindStarted');
    expect(started.who).toMatchObject({ user_id: `user-of-${A}`, project_id: A, service: true });
    expect(started.why).toMatchObject({ command: 'bind_arqs', request_id: requestIds.bindA });
    expect(started.changes).toMatchObject({
      state: { from: 'Initial', to: 'BindStarted' },
      hostname: { from: null, to: hostname },
      instance_uuid: { from: null, to: instanceA },
      device: { from: null, to: devices.gpu },
    });
    // The agent's confirmation, recorded by the conductor: no user, but the request that started the bind.
    expect(entry(history, 'ArqBound').who).toMatchObject({ user_id: null, project_id: null, service: true });
    expect(entry(history, 'ArqBound').why).toMatchObject({ command: 'confirm_bind', request_id: requestIds.bindA });
    expect(entry(history, 'ArqBound').changes).toEqual({ state: { from: 'BindStarted', to: 'Bound' } });
    expect(entry(history, 'ArqUnbound').why).toMatchObject({ command: 'unbind_arqs', request_id: requestIds.unbindA });
    expect(entry(history, 'ArqUnbound').changes).toMatchObject({
      state: { from: 'Bound', to: 'Unbound' },
      hostname: { from: hostname, to: null },
      attach_handle: { from: expect.any(String), to: null },
    });
    expect(entry(history, 'ArqDeleted').why).toMatchObject({ command: 'delete_arqs', request_id: requestIds.deleteA });
    expect(entry(history, 'ArqDeleted').changes).toEqual({ exists: { from: true, to: false } });
    const times = history!.entries.map((e) => e.at);
    expect([...times].sort()).toEqual(times);
  });

  it('each ARQ of one group records its own resource class', async () => {
    expect(entry(await historyOf(log, 'arq', b1), 'ArqCreated').changes.resource_class.to).toBe('FPGA');
    expect(entry(await historyOf(log, 'arq', b2), 'ArqCreated').changes.resource_class.to).toBe('CUSTOM_NIC');
  });

  it('a device: its handle taken and given back by the ARQ, from its host stream', async () => {
    const history = await historyOf(log, 'device', devices.gpu);
    expect(history!.streams).toEqual([`host-${hostname}`]);
    expect(types(history)[0]).toBe('DeviceAdded');
    expect(entry(history, 'DeviceAdded').why.command).toBe('report_inventory');
    const taken = entry(history, 'AttachHandleAllocated');
    expect(taken.changes).toMatchObject({
      attach_handles_in_use: { from: 0, to: 1 },
      held_by: { from: [], to: [a1] },
    });
    expect(taken.why).toMatchObject({ command: 'bind_arqs', request_id: requestIds.bindA });
    expect(entry(history, 'AttachHandleReleased').changes.held_by).toEqual({ from: [a1], to: [] });
    // Nothing about other devices.
    expect(history!.entries.every((e) => e.summary.includes(devices.nvme) === false)).toBe(true);
  });

  it('a device disabled and enabled by an operator, and one removed and one added by the agent', async () => {
    const nvme = await historyOf(log, 'device', devices.nvme);
    const disabled = entry(nvme, 'DeviceDisabled');
    expect(disabled.who).toMatchObject({ user_id: 'ops', actor: 'ops' });
    expect(disabled.why).toMatchObject({ command: 'set_device_status', request_id: requestIds.disable });
    expect(disabled.changes).toEqual({ status: { from: 'enabled', to: 'maintaining' } });
    expect(entry(nvme, 'DeviceEnabled').changes).toEqual({ status: { from: 'maintaining', to: 'enabled' } });

    const qat = await historyOf(log, 'device', devices.qat);
    const last = qat!.entries[qat!.entries.length - 1];
    expect(last.type).toBe('DeviceRemoved');
    expect(last.changes.exists).toEqual({ from: true, to: false });
    expect(last.why.command).toBe('report_inventory');
    // Its deployable and handle went in the same report.
    expect(types(qat)).toEqual(expect.arrayContaining(['DeployableRemoved', 'AttachHandleRemoved']));

    const added = await historyOf(log, 'device', addedDevice);
    expect(added!.entries[0]).toMatchObject({ type: 'DeviceAdded', changes: { exists: { from: false, to: true } } });
    expect(added!.entries[0].at >= momentOf('a1 unbound').at.toISOString()).toBe(true);
  });

  it('a host: every event of its stream, from its registration', async () => {
    const history = await historyOf(log, 'host', hostname);
    const stream = await store.readStream(`host-${hostname}`);
    expect(history!.entries.map((e) => e.event_id)).toEqual(stream.map((e) => e.eventId));
    expect(types(history)[0]).toBe('HostRegistered');
    expect(types(history)).toEqual(
      expect.arrayContaining([
        'DeviceDisabled',
        'DeviceEnabled',
        'DeviceAdded',
        'DeviceRemoved',
        'AttachHandleAllocated',
      ]),
    );
  });

  it('a device profile, by name: created, its name taken, deleted, its name released', async () => {
    const history = await historyOf(log, 'profile', profileGpu);
    expect([...types(history)].sort()).toEqual(
      ['DeviceProfileCreated', 'DeviceProfileDeleted', 'DeviceProfileNameClaimed', 'DeviceProfileNameReleased'].sort(),
    );
    expect(types(history).indexOf('DeviceProfileCreated')).toBeLessThan(types(history).indexOf('DeviceProfileDeleted'));
    expect(entry(history, 'DeviceProfileDeleted').who.user_id).toBe('ops');
  });
});

describe('state-at: the state rebuilt from the log equals what the API answered then', () => {
  const stateOf = async (kind: 'arq' | 'device', uuid: string, moment: Moment, by: 'time' | 'position') => {
    const at =
      by === 'time'
        ? { kind: 'time' as const, at: moment.at }
        : { kind: 'position' as const, position: moment.position };
    return (await stateAt(log, kind, uuid, at))?.state ?? null;
  };

  it('every ARQ and device at every recorded moment, by time and by log position', async () => {
    expect(moments).toHaveLength(9);
    for (const moment of moments) {
      for (const by of ['time', 'position'] as const) {
        for (const [uuid, body] of moment.arqs) {
          expect({ moment: moment.label, uuid, by, state: await stateOf('arq', uuid, moment, by) }).toEqual({
            moment: moment.label,
            uuid,
            by,
            state: body,
          });
        }
        for (const [uuid, body] of moment.devices) {
          expect({ moment: moment.label, uuid, by, state: await stateOf('device', uuid, moment, by) }).toEqual({
            moment: moment.label,
            uuid,
            by,
            state: body,
          });
        }
      }
    }
  });

  it("the host's devices, deployables and attributes, as the API listed them", async () => {
    for (const moment of moments) {
      const result = await stateAt(log, 'host', hostname, { kind: 'time', at: moment.at });
      const host = result!.state as HostRecord;
      expect({ moment: moment.label, devices: host.devices }).toEqual({
        moment: moment.label,
        devices: moment.hostDevices,
      });
      expect({ moment: moment.label, deployables: host.deployables }).toEqual({
        moment: moment.label,
        deployables: moment.deployables,
      });
      expect({ moment: moment.label, attributes: host.attributes }).toEqual({
        moment: moment.label,
        attributes: moment.attributes,
      });
    }
  });

  it('says when a thing did not exist yet, and refuses what the log never knew', async () => {
    const before = await stateAt(log, 'arq', b1, { kind: 'time', at: momentOf('a1 bound').at });
    expect(before).toMatchObject({ exists: false, state: null, as_of: null });
    const gone = await stateAt(log, 'arq', a1, { kind: 'time', at: momentOf('end of the day').at });
    expect(gone).toMatchObject({ exists: false, state: null, as_of: { type: 'ArqDeleted' } });
    expect(await stateAt(log, 'arq', randomUUID(), { kind: 'time', at: new Date() })).toBeNull();
  });
});

describe('usage: per project, from the bind events', () => {
  const hours = (from: string | Date, to: string | Date) =>
    Math.round(((new Date(to).getTime() - new Date(from).getTime()) / 3_600_000) * 1e6) / 1e6;
  let boundA: string;
  let unboundA: string;
  let boundB1: string;
  let boundB2: string;

  beforeAll(async () => {
    boundA = entry(await historyOf(log, 'arq', a1), 'ArqBound').at;
    unboundA = entry(await historyOf(log, 'arq', a1), 'ArqUnbound').at;
    boundB1 = entry(await historyOf(log, 'arq', b1), 'ArqBound').at;
    boundB2 = entry(await historyOf(log, 'arq', b2), 'ArqBound').at;
  });

  it('over the day: accelerator-hours by resource class and device type, and what is held at its end', async () => {
    const since = momentOf('profiles created').at;
    const until = momentOf('end of the day').at;
    const report = await usageOf(log, { since, until });
    const nic = hours(boundB2, until);
    const fpga = hours(boundB1, until);
    expect(report).toEqual({
      since: since.toISOString(),
      until: until.toISOString(),
      projects: [
        {
          project_id: A,
          accelerators_held: 0,
          devices_held: 0,
          binds: 1,
          accelerator_hours: hours(boundA, unboundA),
          resources: [
            {
              resource_class: 'PGPU',
              device_type: 'GPU',
              accelerators_held: 0,
              devices_held: 0,
              binds: 1,
              accelerator_hours: hours(boundA, unboundA),
            },
          ],
        },
        {
          project_id: B,
          accelerators_held: 2,
          devices_held: 2,
          binds: 2,
          accelerator_hours: Math.round((nic + fpga) * 1e6) / 1e6,
          resources: [
            {
              resource_class: 'CUSTOM_NIC',
              device_type: 'NIC',
              accelerators_held: 1,
              devices_held: 1,
              binds: 1,
              accelerator_hours: nic,
            },
            {
              resource_class: 'FPGA',
              device_type: 'FPGA',
              accelerators_held: 1,
              devices_held: 1,
              binds: 1,
              accelerator_hours: fpga,
            },
          ],
        },
      ],
    });
    expect(report.projects[0].accelerator_hours).toBeGreaterThan(0);
  });

  it('clips intervals to the period, and counts what was held at its end', async () => {
    const mid = new Date((new Date(boundA).getTime() + new Date(unboundA).getTime()) / 2);
    const clipped = await usageOf(log, { since: mid, until: momentOf('end of the day').at, projectId: A });
    expect(clipped.projects).toHaveLength(1);
    expect(clipped.projects[0].accelerator_hours).toBe(hours(mid, unboundA));

    const atBind = await usageOf(log, {
      since: momentOf('profiles created').at,
      until: momentOf('b1 and b2 bound').at,
    });
    expect(atBind.projects.map((p) => [p.project_id, p.accelerators_held])).toEqual([
      [A, 1],
      [B, 2],
    ]);
    const before = await usageOf(log, {
      since: new Date(momentOf('profiles created').at.getTime() - 3_600_000),
      until: momentOf('profiles created').at,
    });
    expect(before.projects).toEqual([]);
  });
});

describe('REST: the whole log for the admin, its own ARQs for a project', () => {
  // Events are listed gap-free: once no transaction older than the day's last event is still open.
  beforeAll(async () => {
    const last = await logPosition();
    await eventually(async () => ((await store.head()).position >= last ? true : undefined));
  });

  it('answers the histories as the library does; the ARQ routes still answer beside them', async () => {
    const arq = await call<History>('GET', `/v2/accelerator_requests/${b1}/history`, { headers: ops });
    expect(arq.status).toBe(200);
    expect(arq.body).toEqual(JSON.parse(JSON.stringify(await historyOf(log, 'arq', b1))));
    expect((await call<ArqBody>('GET', `/v2/accelerator_requests/${b1}`, { headers: ops })).body.state).toBe('Bound');
    const device = await call<History>('GET', `/v2/devices/${devices.qat}/history`, { headers: ops });
    expect(device.body).toEqual(JSON.parse(JSON.stringify(await historyOf(log, 'device', devices.qat))));
    const host = await call<History>('GET', `/v2/hosts/${hostname}/history`, { headers: ops });
    expect(host.body.entries.length).toBe((await store.readStream(`host-${hostname}`)).length);
  });

  it('lists events with the filters of the CLI', async () => {
    const list = async (query: string) => {
      const answer = await call<{ events: AuditEvent[] }>('GET', `/v2/events?${query}`, { headers: ops });
      expect({ query, status: answer.status }).toEqual({ query, status: 200 });
      return answer.body.events;
    };
    const boundB = await list(`type=ArqBound&project_id=${B}`);
    expect(boundB.map((e) => e.stream_id).sort()).toEqual([`arq-${b1}`, `arq-${b2}`].sort());
    const bindRequest = await list(`request_id=${requestIds.bindB}`);
    expect(bindRequest.map((e) => e.type).sort()).toEqual(
      // The instance's stream records its ARQs in the same append; each bind's end carries the request too.
      [
        'ArqBindStarted',
        'ArqBindStarted',
        'ArqBound',
        'ArqBound',
        'AttachHandleAllocated',
        'AttachHandleAllocated',
        'InstanceArqsBound',
      ].sort(),
    );
    const started = bindRequest.filter((e) => e.type !== 'ArqBound');
    expect(started.every((e) => e.why.command === 'bind_arqs' && e.who.project_id === B)).toBe(true);
    const byOps = await list('user_id=ops&category=host');
    expect(byOps.map((e) => e.type)).toEqual(['DeviceDisabled', 'DeviceEnabled']);
    const onHost = await list(`hostname=${hostname}&type=ArqBindStarted`);
    expect(onHost).toHaveLength(3);
    const window = await list(
      `since=${momentOf('a1 bound').at.toISOString()}&until=${momentOf('b1 and b2 bound').at.toISOString()}&category=arq`,
    );
    expect(new Set(window.map((e) => e.stream_id))).toEqual(new Set([`arq-${b1}`, `arq-${b2}`]));
    const first = (await list('limit=1'))[0];
    const range = await list(`from_position=${first.position}&to_position=${first.position + 4}`);
    expect(range.every((e) => e.position >= first.position && e.position <= first.position + 4)).toBe(true);
    const created = (await list(`stream=arq-${a1}`))[0];
    expect(created).toMatchObject({ type: 'ArqCreated', schema_version: 2, data: { resourceClass: 'PGPU' } });
  });

  it("pages with limit and marker, openstacksdk's way, to the same list as one read", async () => {
    const whole = (await call<{ events: AuditEvent[] }>('GET', '/v2/events?limit=1000', { headers: ops })).body.events;
    const paged: AuditEvent[] = [];
    for (let marker = ''; ;) {
      const page = await call<{ events: AuditEvent[] }>('GET', `/v2/events?limit=7${marker}`, { headers: ops });
      if (page.body.events.length === 0) break;
      paged.push(...page.body.events);
      marker = `&marker=${page.body.events[page.body.events.length - 1].event_id}`;
    }
    expect(paged.map((e) => e.event_id)).toEqual(whole.map((e) => e.event_id));
    expect(whole.length).toBeGreaterThan(50);
  });

  it('answers bad queries with 400 and unknown things with 404, in Cyborg’s error shape', async () => {
    const cases: [string, number, RegExp][] = [
      ['/v2/events?since=yesterday', 400, /since must be an ISO 8601 time/],
      ['/v2/events?from_position=-3', 400, /from_position must be a log position/],
      ['/v2/events?from_position=9&to_position=2', 400, /from_position must not be after to_position/],
      ['/v2/events?limit=0', 400, /limit/],
      [`/v2/events?marker=${randomUUID()}`, 400, /^Marker .* not found$/],
      ['/v2/events?colour=red', 400, /Unknown argument: "colour"/],
      ['/v2/usage?since=2026-13-45', 400, /since must be an ISO 8601 time/],
      ['/v2/usage?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z', 400, /since must be before until/],
      ['/v2/accelerator_requests/not-a-uuid/history', 400, /Expected a uuid/],
      [`/v2/accelerator_requests/${randomUUID()}/history`, 404, /ExtArq not found/],
      [`/v2/devices/${randomUUID()}/history`, 404, /Device not found/],
      ['/v2/hosts/no-such-host/history', 404, /Host no-such-host not found/],
    ];
    for (const [path, status, message] of cases) {
      const answer = await call<{ error_message: string }>('GET', path, { headers: ops });
      const { faultstring } = JSON.parse(answer.body.error_message) as { faultstring: string };
      expect({ path, status: answer.status, faultstring }).toEqual({
        path,
        status,
        faultstring: expect.stringMatching(message),
      });
    }
  });

  it("shows a project only its own ARQs' events and histories, and devices and hosts to no one but the admin", async () => {
    for (const [persona, headers] of Object.entries(personas)) {
      const own = await call<History>('GET', `/v2/accelerator_requests/${a1}/history`, { headers });
      expect({ persona, status: own.status }).toEqual({ persona, status: 200 });
      expect(own.body).toEqual(JSON.parse(JSON.stringify(await historyOf(log, 'arq', a1))));
      const theirs = await call('GET', `/v2/accelerator_requests/${b1}/history`, { headers });
      expect({ persona, status: theirs.status, text: theirs.text }).toEqual({
        persona,
        status: 404,
        text: expect.stringContaining(`ExtArq not found with uuid=${b1}`),
      });
      for (const [path, rule] of [
        [`/v2/devices/${devices.gpu}/history`, 'cyborg:device:history'],
        [`/v2/hosts/${hostname}/history`, 'cyborg:host:history'],
        [`/v2/events?project_id=${B}`, 'cyborg:event:get_all_projects'],
      ]) {
        const answer = await call('GET', path, { headers });
        expect({ persona, path, status: answer.status, text: answer.text }).toEqual({
          persona,
          path,
          status: 403,
          text: expect.stringContaining(`Access was denied to the following resource: ${rule}`),
        });
      }
      const events = await call<{ events: AuditEvent[] }>('GET', '/v2/events?limit=1000', { headers });
      expect({ persona, status: events.status }).toEqual({ persona, status: 200 });
      const streams = new Set(events.body.events.map((e) => e.stream_id));
      const ownStreams = arqUuids.filter((uuid) => projectOfArq.get(uuid) === A).map((uuid) => `arq-${uuid}`);
      expect([...streams].every((stream) => ownStreams.includes(stream))).toBe(true);
      expect(streams).toContain(`arq-${a1}`);
      const mine = await call<{ events: AuditEvent[] }>('GET', `/v2/events?project_id=${A}`, { headers });
      expect(mine.body.events.map((e) => e.event_id)).toEqual(
        events.body.events
          .filter((e) => mine.body.events.some((m) => m.event_id === e.event_id))
          .map((e) => e.event_id),
      );
    }
    const whole = await call<{ events: AuditEvent[] }>('GET', '/v2/events?limit=1000', { headers: ops });
    expect(new Set(whole.body.events.map((e) => e.stream_id))).toContain(`arq-${b1}`);
    expect(new Set(whole.body.events.map((e) => e.category))).toContain('host');
  });

  it('shows a project its own usage only; admins every project', async () => {
    const period = `since=${momentOf('profiles created').at.toISOString()}&until=${momentOf('end of the day').at.toISOString()}`;
    const all = await call<UsageReport>('GET', `/v2/usage?${period}`, { headers: ops });
    expect(all.body.projects.map((p) => p.project_id)).toEqual([A, B]);
    const mine = await call<UsageReport>('GET', `/v2/usage?${period}`, { headers: userOf(B) });
    expect(mine.status).toBe(200);
    expect(mine.body.projects.map((p) => p.project_id)).toEqual([B]);
    expect(mine.body.projects[0]).toEqual(all.body.projects[1]);
    const reader = await call<UsageReport>('GET', `/v2/usage?${period}`, { headers: personas.reader });
    expect(reader.body.projects.map((p) => p.project_id)).toEqual([A]);
    const theirs = await call('GET', `/v2/usage?${period}&project_id=${A}`, { headers: userOf(B) });
    expect(theirs.status).toBe(403);
    expect(theirs.text).toContain('cyborg:usage:get_all_projects');
    const one = await call<UsageReport>('GET', `/v2/usage?${period}&project_id=${A}`, { headers: ops });
    expect(one.body.projects.map((p) => p.project_id)).toEqual([A]);
    const service = await call('GET', `/v2/usage`, { headers: { 'X-User-Id': 'nova', 'X-Roles': 'service' } });
    expect(service.status).toBe(403);
  });
});

describe('the CLI, run as operators run it, against the same database', () => {
  it('has --help on every command', async () => {
    for (const command of [[], ['events'], ['history'], ['state-at'], ['usage'], ['verify'], ['migrate']]) {
      const result = await cli.run([...command, '--help']);
      expect({ command, code: result.code }).toEqual({ command, code: 0 });
      expect(result.stdout).toContain('Usage: cyborg');
    }
  });

  it('prints the same history, state and usage as JSON', async () => {
    const history = await cli.run(['history', 'arq', a1, '--json']);
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout)).toEqual(JSON.parse(JSON.stringify(await historyOf(log, 'arq', a1))));

    const moment = momentOf('b1 and b2 bound');
    for (const at of [moment.at.toISOString(), String(moment.position)]) {
      const state = await cli.run(['state-at', 'arq', a1, '--at', at, '--json']);
      expect(JSON.parse(state.stdout).state).toEqual(moment.arqs.get(a1));
      const device = await cli.run(['state-at', 'device', devices.gpu, '--at', at, '--json']);
      expect(JSON.parse(device.stdout).state).toEqual(moment.devices.get(devices.gpu));
    }

    const since = momentOf('profiles created').at.toISOString();
    const until = momentOf('end of the day').at.toISOString();
    const usage = await cli.run(['usage', '--since', since, '--until', until, '--json']);
    expect(JSON.parse(usage.stdout)).toEqual(await usageOf(log, { since: new Date(since), until: new Date(until) }));
  });

  it('prints tables for people', async () => {
    const events = await cli.run(['events', '--stream', `arq-${a1}`]);
    expect(events.stdout.split('\n')[0]).toMatch(/^POSITION +OCCURRED AT +STREAM +V +TYPE +WHO +COMMAND +SUMMARY$/);
    expect(events.stdout).toContain('ArqCreated/v2');
    const history = await cli.run(['history', 'device', devices.nvme]);
    expect(history.stdout).toMatch(/DeviceDisabled {2}by ops@ops-project {2}\(set_device_status req-/);
    expect(history.stdout).toContain('status: enabled -> maintaining');
    const host = await cli.run(['state-at', 'host', hostname, '--at', momentOf('a1 bound').at.toISOString()]);
    expect(host.stdout).toContain(`${hostname}_0000:3b:00.0`);
    expect(host.stdout).toContain(a1);
    const usage = await cli.run(['usage', '--since', momentOf('profiles created').at.toISOString()]);
    expect(usage.stdout).toMatch(/project-b +FPGA +FPGA +1 +1 +1 +\d+\.\d{4}/);
  });

  it('exports NDJSON, and says what is wrong with a bad filter (exit 2)', async () => {
    const ndjson = await cli.run(['events', '--ndjson', '--stream', `arq-${a1}`]);
    const lines = ndjson.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent);
    expect(lines.map((e) => e.type)).toEqual(['ArqCreated', 'ArqBindStarted', 'ArqBound', 'ArqUnbound', 'ArqDeleted']);
    const bad = await cli.run(['events', '--since', 'yesterday']);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toContain('error: since must be an ISO 8601 time');
    const unknown = await cli.run(['history', 'arq', randomUUID()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/the log knows no ARQ /);
  });

  it('follows the log: new events appear as they happen, until interrupted', async () => {
    const since = new Date().toISOString();
    const follower = cli.start(['events', '--follow', '--json', '--category', 'arq', '--since', since]);
    const seen: AuditEvent[] = [];
    let buffer = '';
    follower.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      seen.push(...lines.filter((l) => l.trim()).map((l) => JSON.parse(l) as AuditEvent));
    });
    const exited = new Promise<number | null>((resolve) => follower.on('exit', (code) => resolve(code)));
    try {
      const [c1, c2] = await createArqs(profileMix, A);
      await eventually(async () => (seen.filter((e) => e.type === 'ArqCreated').length === 2 ? true : undefined));
      // Appended after the follower printed the creations: only following can show these.
      expect((await call('DELETE', `/v2/accelerator_requests?arqs=${c1},${c2}`, { headers: userOf(A) })).status).toBe(
        204,
      );
      await eventually(async () => (seen.filter((e) => e.type === 'ArqDeleted').length === 2 ? true : undefined));
      expect(seen.map((e) => e.stream_id).sort()).toEqual([`arq-${c1}`, `arq-${c1}`, `arq-${c2}`, `arq-${c2}`].sort());
    } finally {
      follower.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});

describe('verify finds a tampered event', () => {
  it('the database refuses to change an event; with its trigger disabled, verify names the broken one', async () => {
    const ds = system.db.dataSource;
    const [created] = await store.readStream(`arq-${b1}`);
    await expect(
      ds.query(`UPDATE events SET data = jsonb_set(data, '{projectId}', '"project-x"') WHERE event_id = $1`, [
        created.eventId,
      ]),
    ).rejects.toThrow(/append-only/);
    // The database's own check: the test systems share one JetStream stream, so its copy is not this log's alone.
    const clean = await cli.run(['verify', '--log-only']);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('every hash chain verifies');

    // As the superuser: the trigger off, one event rewritten, the trigger back on.
    await ds.query(`ALTER TABLE events DISABLE TRIGGER events_append_only`);
    try {
      await ds.query(`UPDATE events SET data = jsonb_set(data, '{projectId}', '"project-x"') WHERE event_id = $1`, [
        created.eventId,
      ]);
    } finally {
      await ds.query(`ALTER TABLE events ENABLE TRIGGER events_append_only`);
    }
    const broken = await cli.run(['verify', '--log-only', '--json']);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout).breaks).toEqual([
      {
        streamId: `arq-${b1}`,
        version: 1,
        position: created.position,
        eventId: created.eventId,
        problem: 'content does not match its hash',
      },
    ]);
    const table = await cli.run(['verify', '--log-only']);
    expect(table.code).toBe(1);
    expect(table.stdout).toContain(`arq-${b1}`);
  });
});
