import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { agentSubject, AgentWork, type ReportInventoryResult } from '@cyborg/contracts';
import { agentAttributeUuid } from '@cyborg/domain';
import { EventStore } from '@cyborg/event-store';
import { RpcClient } from '@cyborg/messaging';
import { type TestDatabase } from '../support/database';
import { TestSystem } from '../support/system';

/**
 * Operators' attributes end to end (Cyborg §9): `POST /v2/attributes` in
 * Cyborg's flat form and openstacksdk's envelope → conductor → the
 * deployable's host stream → read model → HTTP; kept across the agent's
 * reports; `DELETE /v2/attributes/{uuid}` for the operator's own only.
 */
let system: TestSystem;
let db: TestDatabase;
let api: string;
let rpc: RpcClient;
let store: EventStore;
const hostname = `attr-${randomUUID().slice(0, 8)}`;
const hostFile = () => system.hostFile;

interface Answer<T = unknown> {
  status: number;
  body: T;
}

interface Attribute {
  uuid: string;
  deployable_id: number;
  key: string;
  value: string;
  created_at: string;
  updated_at: string | null;
  links: { href: string; rel: string }[];
}

interface Deployable {
  id: number;
  uuid: string;
  name: string;
}

async function http<T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; raw?: string; contentType?: string; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['Content-Type'] = 'application/json';
  }
  if (options.raw !== undefined) {
    body = options.raw;
    headers['Content-Type'] = options.contentType ?? 'application/json';
  }
  const response = await fetch(`${api}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}

function fault(answer: Answer): string {
  const { error_message } = answer.body as { error_message: string };
  return (JSON.parse(error_message) as { faultstring: string }).faultstring;
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const reportNow = () =>
  rpc.request<ReportInventoryResult>(
    agentSubject(hostname, AgentWork.reportNow),
    { reason: 'test' },
    { timeoutMs: 10_000 },
  );

/** A deployable of the host by name, with Cyborg's integer id (the read model's). */
async function deployable(suffix: string): Promise<Deployable> {
  const name = `${hostname}_${suffix}`;
  return eventually(async () => {
    const rows: { id: string; uuid: string }[] = await db.dataSource.query(
      `SELECT id, uuid FROM deployables WHERE name = $1`,
      [name],
    );
    return rows[0] ? { id: Number(rows[0].id), uuid: rows[0].uuid, name } : undefined;
  });
}

const create = (json: unknown, headers: Record<string, string> = {}) =>
  http<Attribute>('POST', '/v2/attributes', { json, headers });

beforeAll(async () => {
  system = await TestSystem.start({
    name: 'attributes',
    hostname,
    // Reports here are forced; the timer must not race them.
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  ({ db, apiUrl: api, rpc, store } = system);
  await deployable('FakeDevice');
  await deployable('0000:86:02.7');
});

afterAll(() => system?.close());

describe('creating', () => {
  it("takes Cyborg's flat body with the integer deployable id and answers 201 with the attribute, flat", async () => {
    const fake = await deployable('FakeDevice');
    const answer = await create({ deployable_id: fake.id, key: 'trait_flat', value: 'CUSTOM_FLAT' });
    expect(answer.status).toBe(201);
    const attribute = answer.body;
    expect(attribute).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
      deployable_id: fake.id,
      key: 'trait_flat',
      value: 'CUSTOM_FLAT',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/),
      updated_at: null,
      links: [{ href: `${api}/accelerator/v2/attributes/${attribute.uuid}`, rel: 'self' }],
    });
    // Read your writes: the answer came once the read model had it.
    expect((await http(`GET`, `/v2/attributes/${attribute.uuid}`)).body).toEqual(attribute);
    const listed = await http<{ attributes: Attribute[] }>('GET', `/v2/attributes?deployable_id=${fake.id}`);
    expect(listed.body.attributes.map((a) => a.key)).toEqual(['traits1', 'rc', 'trait_flat']);
    const events = await store.readStream(`host-${hostname}`);
    expect(events[events.length - 1]).toMatchObject({
      type: 'AttributeAdded',
      data: { uuid: attribute.uuid, deployableUuid: fake.uuid, key: 'trait_flat', source: 'api' },
    });
  });

  it("takes openstacksdk's envelope, a numeric string id and a deployable uuid", async () => {
    const fake = await deployable('FakeDevice');
    const enveloped = await create({ attribute: { deployable_id: String(fake.id), key: 'trait_sdk', value: 'X' } });
    expect(enveloped.status).toBe(201);
    expect(enveloped.body).toMatchObject({ deployable_id: fake.id, key: 'trait_sdk', value: 'X' });
    const byUuid = await create({ attribute: { deployable_id: fake.uuid, key: 'trait_uuid', value: 'Y' } });
    expect(byUuid.status).toBe(201);
    expect(byUuid.body).toMatchObject({ deployable_id: fake.id, key: 'trait_uuid' });
  });

  it('answers a retried request (same Idempotency-Key) with the same attribute, made once', async () => {
    const fake = await deployable('FakeDevice');
    const headers = { 'Idempotency-Key': randomUUID() };
    const body = { deployable_id: fake.id, key: 'trait_retried', value: 'Z' };
    const first = await create(body, headers);
    const again = await create(body, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.uuid).toBe(first.body.uuid);
    const listed = await http<{ attributes: Attribute[] }>('GET', '/v2/attributes?key=trait_retried');
    expect(listed.body.attributes).toHaveLength(1);
  });

  it("refuses a key the deployable already has, the operator's or the agent's, with 409", async () => {
    const fake = await deployable('FakeDevice');
    const twice = await create({ deployable_id: fake.id, key: 'trait_flat', value: 'again' });
    expect(twice.status).toBe(409);
    expect(fault(twice)).toBe(`An attribute with key trait_flat already exists on deployable ${fake.uuid}.`);
    const agents = await create({ deployable_id: fake.id, key: 'rc', value: 'GPU' });
    expect(agents.status).toBe(409);
  });

  it('answers an unknown deployable with 404', async () => {
    const byId = await create({ deployable_id: 987654321, key: 'k', value: 'v' });
    expect(byId.status).toBe(404);
    expect(fault(byId)).toBe('Deployable not found with id=987654321');
    const missing = randomUUID();
    const byUuid = await create({ deployable_id: missing, key: 'k', value: 'v' });
    expect(byUuid.status).toBe(404);
    expect(fault(byUuid)).toBe(`Deployable not found with uuid=${missing}`);
  });

  it.each([
    ['no deployable_id', { key: 'k', value: 'v' }, 'Missing argument: "deployable_id"'],
    ['no key', { deployable_id: 1, value: 'v' }, 'Missing argument: "key"'],
    ['no value', { deployable_id: 1, key: 'k' }, 'Missing argument: "value"'],
    [
      'a deployable_id that is no integer',
      { deployable_id: 'abc', key: 'k', value: 'v' },
      "Invalid input for field/attribute deployable_id. Value: 'abc'. unable to convert to int.",
    ],
    [
      'a key that is no string',
      { deployable_id: 1, key: ['k'], value: 'v' },
      `Invalid input for field/attribute key. Value: '["k"]'. Value should be a string.`,
    ],
    ['an empty key', { deployable_id: 1, key: '', value: 'v' }, "Invalid input for field/attribute key. Value: ''."],
    [
      'a body that is no object',
      [{ deployable_id: 1, key: 'k', value: 'v' }],
      'The request body must be a JSON object.',
    ],
  ])('refuses %s with 400', async (_what, body, message) => {
    const answer = await create(body);
    expect(answer.status).toBe(400);
    expect(fault(answer)).toContain(message);
  });

  it('refuses a body that is not JSON, and unknown query parameters', async () => {
    const form = await http('POST', '/v2/attributes', { raw: 'key=v', contentType: 'text/plain' });
    expect(form.status).toBe(415);
    expect(fault(form)).toBe('Unknown mimetype: text/plain');
    const query = await http('POST', '/v2/attributes?x=1', { json: { deployable_id: 1, key: 'k', value: 'v' } });
    expect(query.status).toBe(400);
    expect(fault(query)).toBe('Unknown argument: "x"');
  });
});

describe("the agent's reports", () => {
  it("keep an operator's attribute, whether the host changed or not", async () => {
    const pf = await deployable('0000:86:00.0');
    const made = await create({ deployable_id: pf.id, key: 'trait_kept', value: 'CUSTOM_KEPT' });
    expect(made.status).toBe(201);

    expect(await reportNow()).toMatchObject({ changed: false });
    // Fewer VFs: a changed report, decided on the same host stream.
    const version = await store.streamVersion(`host-${hostname}`);
    const doc = parseDocument(await readFile(hostFile(), 'utf8'));
    doc.setIn(['faults', 'devices', 'nic0'], doc.createNode({ vfs: '4' }));
    await writeFile(hostFile(), String(doc));
    expect(await reportNow()).toMatchObject({ changed: true });
    const events = await store.readStream(`host-${hostname}`, { fromVersion: version });
    expect(events.filter((e) => e.type === 'DeployableRemoved')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'AttributeRemoved').map((e) => e.data.uuid)).not.toContain(made.body.uuid);

    await eventually(async () =>
      (
        await http<{ deployables: unknown[] }>(
          'GET',
          `/v2/deployables?filters.field=name&filters.value=${hostname}_0000:86:02.7`,
        )
      ).body.deployables.length === 0
        ? true
        : undefined,
    );
    const kept = await http<Attribute>('GET', `/v2/attributes/${made.body.uuid}`);
    expect(kept.status).toBe(200);
    expect(kept.body).toEqual(made.body);
  });
});

describe('deleting', () => {
  it("deletes an operator's attribute: 204, then 404", async () => {
    const fake = await deployable('FakeDevice');
    const made = await create({ deployable_id: fake.id, key: 'trait_gone', value: 'v' });
    const deleted = await http('DELETE', `/v2/attributes/${made.body.uuid}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    const gone = await http('GET', `/v2/attributes/${made.body.uuid}`);
    expect(gone.status).toBe(404);
    const again = await http('DELETE', `/v2/attributes/${made.body.uuid}`);
    expect(again.status).toBe(404);
    expect(fault(again)).toBe(`Attribute not found with uuid=${made.body.uuid}`);
    // The key is free again.
    expect((await create({ deployable_id: fake.id, key: 'trait_gone', value: 'v2' })).status).toBe(201);
  });

  it("refuses the agent's attributes with 409, saying why", async () => {
    const rc = agentAttributeUuid(hostname, `${hostname}_FakeDevice`, 'rc');
    const refused = await http('DELETE', `/v2/attributes/${rc}`);
    expect(refused.status).toBe(409);
    expect(fault(refused)).toBe(
      `Attribute ${rc} (rc) is reported by the agent of host ${hostname} and cannot be deleted through the API; ` +
        'only attributes created through the API can.',
    );
    expect((await http('GET', `/v2/attributes/${rc}`)).status).toBe(200);
  });

  it('answers a path that is no uuid with 404, as upstream', async () => {
    const answer = await http('DELETE', '/v2/attributes/not-a-uuid');
    expect(answer.status).toBe(404);
    expect(fault(answer)).toBe('Attribute not found with uuid=not-a-uuid');
  });
});

describe('policy', () => {
  it('lets only the admin create and delete', async () => {
    const fake = await deployable('FakeDevice');
    const member = { 'X-User-Id': 'm', 'X-Project-Id': 'p', 'X-Roles': 'member,reader' };
    const denied = await create({ deployable_id: fake.id, key: 'k', value: 'v' }, member);
    expect(denied.status).toBe(403);
    expect(fault(denied)).toBe('Access was denied to the following resource: cyborg:attribute:create');
    const deleteDenied = await http('DELETE', `/v2/attributes/${randomUUID()}`, { headers: member });
    expect(fault(deleteDenied)).toBe('Access was denied to the following resource: cyborg:attribute:delete');

    const manager = { 'X-User-Id': 'mg', 'X-Project-Id': 'p', 'X-Roles': 'manager,member,reader' };
    const managerDenied = await create({ deployable_id: fake.id, key: 'k', value: 'v' }, manager);
    expect(fault(managerDenied)).toBe('Access was denied to the following resource: cyborg:attribute:create');
    expect((await http('GET', '/v2/attributes', { headers: manager })).status).toBe(200);

    const admin = { 'X-User-Id': 'pa', 'X-Project-Id': 'p', 'X-Roles': 'admin,manager,member,reader' };
    const made = await create({ deployable_id: fake.id, key: 'trait_pa', value: 'v' }, admin);
    expect(made.status).toBe(201);
    expect((await http('DELETE', `/v2/attributes/${made.body.uuid}`, { headers: admin })).status).toBe(204);
  });
});
