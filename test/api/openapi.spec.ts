import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { processMetrics } from '@cyborg/metrics';
import { eventually, http, userOf, unique } from '../arqs/support';
import { TestSystem } from '../support/system';
import { parseMetrics, valueOf } from '../observability/support';

/**
 * /openapi.json is generated from the controllers: every route it names is
 * served under that very template, and real answers of the main endpoints
 * validate against the schemas it gives.
 */
interface Operation {
  responses: Record<string, { content?: { 'application/json'?: { schema: object } } }>;
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
