import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { processMetrics } from '@cyborg/metrics';
import { bindOps, eventually, http, novaFor, userOf, unique } from '../arqs/support';
import { TestSystem } from '../support/system';
import { parseMetrics, valueOf } from '../observability/support';

/**
 * /openapi.json is generated from the controllers: every route it names is
 * served under that very template, every answer of every operation has a
 * schema (or says it has no body), and real answers of every endpoint
 * validate against the schemas it gives.
 */
interface Operation {
  responses: Record<string, { description?: string; content?: Record<string, { schema: object }> }>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

const REQUESTS = 'cyborg_http_requests_total';
const hostname = `openapi-${randomUUID().slice(0, 6)}`;
let system: TestSystem;
let api: string;
let document: Document;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats.default(ajv);

beforeAll(async () => {
  system = await TestSystem.start({ name: 'openapi', hostname });
  api = system.apiUrl;
  const answer = await http<Document>(api, 'GET', '/openapi.json');
  expect(answer.status).toBe(200);
  document = answer.body;
});

afterAll(async () => {
  await system?.close();
});

/** Asserts `body` is what the document says `METHOD path` answers with `status`. */
function expectValid(method: string, path: string, status: number | 'default', body: unknown): void {
  const operation = document.paths[path]?.[method.toLowerCase()];
  expect(operation).toBeDefined();
  const schema = operation.responses[String(status)]?.content?.['application/json']?.schema;
  expect(schema).toBeDefined();
  const validate = ajv.compile(schema!);
  const ok = validate(body);
  if (!ok)
    throw new Error(`${method} ${path}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
}

it("documents every one of Cyborg's v2 endpoints and the project's own", () => {
  expect(document.openapi).toMatch(/^3\./);
  const paths = Object.keys(document.paths);
  for (const path of [
    '/',
    '/v2',
    '/v2/device_profiles',
    '/v2/device_profiles/{uuidOrName}',
    '/v2/accelerator_requests',
    '/v2/accelerator_requests/{uuid}',
    '/v2/devices',
    '/v2/devices/{uuid}',
    '/v2/deployables',
    '/v2/deployables/{uuid}',
    '/v2/attributes',
    '/v2/events',
    '/v2/usage',
    '/v2/placement_sync',
    '/healthz',
    '/healthz/ready',
    '/healthz/live',
    '/metrics',
    '/openapi.json',
  ]) {
    expect(paths).toContain(path);
  }
  expect(paths.some((p) => p.includes('history'))).toBe(true);
  expect(document.paths['/v2/accelerator_requests'].patch).toBeDefined();
});

it('serves every documented route under the template it documents', async () => {
  let checked = 0;
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of Object.keys(item)) {
      const url = path.replace(/\{uuid\}/g, randomUUID()).replace(/\{(\w+)\}/g, 'no-such-thing');
      const route = path.replace(/\{(\w+)\}/g, ':$1');
      const before = valueOf(
        parseMetrics(await processMetrics().registry.getSingleMetricAsString(REQUESTS)),
        REQUESTS,
        {
          method: method.toUpperCase(),
          route,
        },
      );
      // Bodies a write refuses: nothing changes, and the route still answers under its own template.
      const answer = await fetch(`${api}${url}`, {
        method: method.toUpperCase(),
        headers: { 'content-type': 'application/json', ...userOf('project-openapi') },
        body: ['post', 'put', 'patch'].includes(method) ? '{}' : undefined,
      });
      // A live stream (server-sent events) never ends: its headers are the answer.
      if (answer.headers.get('content-type')?.startsWith('text/event-stream')) await answer.body?.cancel();
      else await answer.text();
      const after = await eventually(async () => {
        const text = await processMetrics().registry.getSingleMetricAsString(REQUESTS);
        const n = valueOf(parseMetrics(text), REQUESTS, { method: method.toUpperCase(), route });
        return n > before ? n : undefined;
      }, 2000).catch(() => before);
      if (after <= before)
        throw new Error(`${method.toUpperCase()} ${path} was not served as ${route} (${answer.status})`);
      expect(answer.status).toBeLessThan(500);
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(30);
});

it('answers the main endpoints as their schemas say', async () => {
  const root = await http(api, 'GET', '/');
  expectValid('GET', '/', 200, root.body);
  expectValid('GET', '/v2', 200, (await http(api, 'GET', '/v2')).body);
  expectValid('GET', '/healthz', 200, (await http(api, 'GET', '/healthz')).body);
  expectValid('GET', '/healthz/ready', 200, (await http(api, 'GET', '/healthz/ready')).body);
  expectValid('GET', '/healthz/live', 200, (await http(api, 'GET', '/healthz/live')).body);

  const name = unique('dp');
  const created = await http(api, 'POST', '/v2/device_profiles', {
    json: [{ name, groups: [{ 'resources:FPGA': '1' }] }],
  });
  expect(created.status).toBe(201);
  const profiles = await http<{ device_profiles: { uuid: string }[] }>(api, 'GET', '/v2/device_profiles');
  expectValid('GET', '/v2/device_profiles', 200, profiles.body);
  const byUuid = await http(api, 'GET', `/v2/device_profiles/${profiles.body.device_profiles[0].uuid}`);
  expectValid('GET', '/v2/device_profiles/{uuidOrName}', 200, byUuid.body);
  const byName = await http(api, 'GET', `/v2/device_profiles/${name}`, {
    headers: { 'OpenStack-API-Version': 'accelerator 2.2' },
  });
  expectValid('GET', '/v2/device_profiles/{uuidOrName}', 200, byName.body);

  const arqs = await http<{ arqs: { uuid: string }[] }>(api, 'POST', '/v2/accelerator_requests', {
    json: { device_profile_name: name },
    headers: userOf('project-a'),
  });
  expectValid('POST', '/v2/accelerator_requests', 201, arqs.body);
  const arq = arqs.body.arqs[0].uuid;
  expectValid('GET', '/v2/accelerator_requests', 200, (await http(api, 'GET', '/v2/accelerator_requests')).body);
  expectValid(
    'GET',
    '/v2/accelerator_requests/{uuid}',
    200,
    (await http(api, 'GET', `/v2/accelerator_requests/${arq}`)).body,
  );

  const devices = await eventually(async () => {
    const answer = await http<{ devices: { uuid: string }[] }>(api, 'GET', `/v2/devices?hostname=${hostname}`);
    return answer.body.devices.length > 0 ? answer : undefined;
  });
  expectValid('GET', '/v2/devices', 200, devices.body);
  for (const version of ['2.0', '2.3']) {
    const one = await http(api, 'GET', `/v2/devices/${devices.body.devices[0].uuid}`, {
      headers: { 'OpenStack-API-Version': `accelerator ${version}` },
    });
    expectValid('GET', '/v2/devices/{uuid}', 200, one.body);
  }
  const deployables = await http<{ deployables: { uuid: string }[] }>(api, 'GET', '/v2/deployables');
  expectValid('GET', '/v2/deployables', 200, deployables.body);
  expectValid(
    'GET',
    '/v2/deployables/{uuid}',
    200,
    (await http(api, 'GET', `/v2/deployables/${deployables.body.deployables[0].uuid}`)).body,
  );
  expectValid('GET', '/v2/events', 200, (await http(api, 'GET', '/v2/events?limit=50')).body);

  // An error, in Cyborg's shape, as every operation's default answer says.
  const missing = await http(api, 'GET', `/v2/accelerator_requests/${randomUUID()}`);
  expect(missing.status).toBe(404);
  expectValid('GET', '/v2/accelerator_requests/{uuid}', 'default', missing.body);
});

it('gives every success answer of every operation a body schema, or says it has none', () => {
  const bodiless: string[] = [];
  let described = 0;
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!status.startsWith('2')) continue;
        const content = Object.values(response.content ?? {});
        if (content.length > 0) {
          expect(content.every((c) => typeof c.schema === 'object')).toBe(true);
          described++;
        } else if (!/no body/i.test(response.description ?? '')) {
          bodiless.push(`${method.toUpperCase()} ${path} ${status}`);
        }
      }
    }
  }
  expect(bodiless).toEqual([]);
  expect(described).toBeGreaterThan(40);
  expect(Object.keys(document.paths['/v2/events/stream'].get.responses['200'].content!)).toEqual(['text/event-stream']);
});

it("answers the project's own endpoints as their schemas say", async () => {
  const project = 'project-openapi-own';
  const V24 = { 'OpenStack-API-Version': 'accelerator 2.4' };
  const fakeRp = await eventually(async () => {
    const { body } = await http<{ deployables: { rp_uuid: string }[] }>(
      api,
      'GET',
      `/v2/deployables?filters.field=name&filters.value=${hostname}_FakeDevice`,
    );
    return body.deployables[0]?.rp_uuid;
  });
  const profile = unique('dp-own');
  expect(
    (
      await http(api, 'POST', '/v2/device_profiles', {
        json: [{ name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] }],
      })
    ).status,
  ).toBe(201);
  const created = await http<{ arqs: { uuid: string }[] }>(api, 'POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });
  const arq = created.body.arqs[0].uuid;
  const bound = await http(api, 'PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(hostname, fakeRp, randomUUID()) },
    headers: novaFor(project),
  });
  expect(bound.status).toBe(202);
  await eventually(async () => {
    const { body } = await http<{ state: string }>(api, 'GET', `/v2/accelerator_requests/${arq}`);
    return body.state === 'Bound' ? true : undefined;
  });
  const devices = (
    await http<{ devices: { uuid: string; model: string }[] }>(api, 'GET', `/v2/devices?hostname=${hostname}`)
  ).body.devices;
  const device = devices[0].uuid;

  const valid = async (path: string, template: string, expected = 200, headers: Record<string, string> = {}) => {
    const answer = await http<Record<string, unknown>>(api, 'GET', path, { headers });
    expect({ path, status: answer.status }).toEqual({ path, status: expected });
    expectValid('GET', template, expected, answer.body);
    return answer.body;
  };
  const history = await valid(`/v2/accelerator_requests/${arq}/history`, '/v2/accelerator_requests/{uuid}/history');
  expect((history.entries as { type: string }[]).map((e) => e.type)).toEqual([
    'ArqCreated',
    'ArqBindStarted',
    'ArqBound',
  ]);
  await valid(`/v2/devices/${device}/history`, '/v2/devices/{uuid}/history');
  await valid(`/v2/hosts/${hostname}/history`, '/v2/hosts/{hostname}/history');
  const arqState = await valid(
    `/v2/accelerator_requests/${arq}/state_at?at=${new Date().toISOString()}`,
    '/v2/accelerator_requests/{uuid}/state_at',
  );
  expect(arqState.exists).toBe(true);
  await valid(`/v2/devices/${device}/state_at`, '/v2/devices/{uuid}/state_at');
  await valid(`/v2/hosts/${hostname}/state_at`, '/v2/hosts/{hostname}/state_at');
  const usage = await valid('/v2/usage', '/v2/usage');
  expect((usage.projects as { project_id: string }[]).map((p) => p.project_id)).toContain(project);
  const binds = await valid('/v2/binds', '/v2/binds');
  expect((binds.binds as { arq_uuid: string }[]).map((b) => b.arq_uuid)).toContain(arq);
  await valid('/v2/hosts', '/v2/hosts');
  const host = await valid(`/v2/hosts/${hostname}`, '/v2/hosts/{hostname}');
  expect((host.devices_tree as unknown[]).length).toBeGreaterThan(0);
  await valid('/v2/placement_sync', '/v2/placement_sync');
  const readers = await valid('/v2/log_readers', '/v2/log_readers');
  expect((readers.readers as unknown[]).length).toBeGreaterThan(0);
  const bindMetrics = await valid('/v2/bind_metrics', '/v2/bind_metrics');
  expect((bindMetrics.binds as { outcome: string }[]).map((b) => b.outcome)).toContain('bound');

  const deployable = (await http<{ deployables: { uuid: string }[] }>(api, 'GET', '/v2/deployables')).body
    .deployables[0].uuid;
  const attribute = await http<{ uuid: string }>(api, 'POST', '/v2/attributes', {
    json: { deployable_id: deployable, key: unique('openapi'), value: 'documented' },
  });
  expect(attribute.status).toBe(201);
  expectValid('POST', '/v2/attributes', 201, attribute.body);
  await valid('/v2/attributes', '/v2/attributes');
  await valid(`/v2/attributes/${attribute.body.uuid}`, '/v2/attributes/{uuid}');

  await valid('/openapi.json', '/openapi.json');
  const session = await valid('/console/session', '/console/session');
  expect(session.auth_strategy).toBe('noauth');

  // A healthy device has no fence to lift: a 409 in Cyborg's shape, else the empty 200 the document names.
  const release = await http(api, 'POST', `/v2/devices/${device}/health/release`, { headers: V24 });
  if (release.status === 200) {
    expect(release.body).toBeFalsy();
    expect(document.paths['/v2/devices/{uuid}/health/release'].post.responses['200'].content).toBeUndefined();
  } else {
    expect(release.status).toBe(409);
    expectValid('POST', '/v2/devices/{uuid}/health/release', 'default', release.body);
  }

  const nic = devices.find((d) => d.model.startsWith('Ethernet Controller'));
  expect(nic).toBeDefined();
  const reshaped = await http(api, 'POST', `/v2/devices/${nic!.uuid}/reshape`, {
    json: { num_vfs: 2 },
    headers: V24,
  });
  expect(reshaped.status).toBe(200);
  expectValid('POST', '/v2/devices/{uuid}/reshape', 200, reshaped.body);

  // The live stream: text/event-stream, its backlog then `event: ready`.
  const stream = await fetch(`${api}/v2/events/stream?last=5`);
  expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const reader = stream.body!.getReader();
  let text = '';
  while (!text.includes('event: ready')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await reader.cancel();
  const frames = text.split('\n\n').filter((f) => f.includes('event: event'));
  expect(frames.length).toBeGreaterThan(0);
  const data = JSON.parse(
    frames[0]
      .split('\n')
      .find((l) => l.startsWith('data: '))!
      .slice(6),
  );
  const events = document.paths['/v2/events'].get.responses['200'].content!['application/json'].schema as {
    properties: { events: { items: object } };
  };
  const validate = ajv.compile(events.properties.events.items);
  expect(validate(data)).toBe(true);
});
