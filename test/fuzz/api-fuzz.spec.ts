import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RequestMethod } from '@nestjs/common';
import fc from 'fast-check';
import { FakeNova } from '../support/fake-nova';
import { TestSystem } from '../support/system';

/**
 * Bad input on every endpoint of the API, as a seeded fuzz run (fast-check:
 * a failure prints its seed and the shrunk request, and replays with
 * FUZZ_SEED): malformed JSON, wrong types, huge bodies, unicode and control
 * characters, SQL and shell metacharacters, invalid uuids, unknown
 * microversions, invalid JSON-patch, absurd query parameters. Every answer
 * must be a 4xx in Cyborg's error shape with a message, or a success; never
 * a 5xx, never a crash, and a refused request writes nothing.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261121);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

let system: TestSystem;
let nova: FakeNova;
let routes: Route[];
const existing = { profile: '', profileName: '', arq: '', device: '', deployable: '', deployableId: 0, attribute: '' };
const hostname = `fuzz-${randomUUID().slice(0, 6)}`;

interface Route {
  method: string;
  /** Express-style, e.g. `/v2/devices/:uuid/disable`. */
  path: string;
}

interface FuzzRequest {
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  /** Sent as is (a JSON text or not). */
  body?: string;
}

interface Outcome {
  status: number;
  text: string;
  newEvents: { type: string; stream_id: string }[];
}

const HTTP_METHODS: Record<number, string> = {
  [RequestMethod.GET]: 'GET',
  [RequestMethod.POST]: 'POST',
  [RequestMethod.PUT]: 'PUT',
  [RequestMethod.DELETE]: 'DELETE',
  [RequestMethod.PATCH]: 'PATCH',
};

/** Every route of every controller under apps/api/src, read from Nest's own route metadata. */
async function apiRoutes(): Promise<Route[]> {
  const dir = new URL('../../apps/api/src/', import.meta.url).pathname;
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.controller.ts'));
  const found = new Map<string, Route>();
  for (const file of files) {
    const module = (await import(join(dir, file))) as Record<string, unknown>;
    for (const controller of Object.values(module)) {
      if (typeof controller !== 'function') continue;
      // Nest's PATH_METADATA and METHOD_METADATA keys.
      const bases = Reflect.getMetadata('path', controller) as string | string[] | undefined;
      if (bases === undefined) continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function') continue;
        const method = Reflect.getMetadata('method', handler) as number | undefined;
        const paths = Reflect.getMetadata('path', handler) as string | string[] | undefined;
        if (method === undefined || paths === undefined || !HTTP_METHODS[method]) continue;
        for (const base of [bases].flat()) {
          for (const path of [paths].flat()) {
            const full = `/${[base, path].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/');
            found.set(`${HTTP_METHODS[method]} ${full}`, { method: HTTP_METHODS[method], path: full });
          }
        }
      }
    }
  }
  return [...found.values()].sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

// --- what the fuzz sends -------------------------------------------------

const EVIL = [
  "' OR '1'='1",
  "'; DROP TABLE events; --",
  '" OR ""="',
  '1; SELECT pg_sleep(10)',
  '$(reboot)',
  '`id`',
  '| cat /etc/passwd',
  '&& rm -rf /',
  '../../../../etc/passwd',
  '%00',
  '%2e%2e%2f',
  '${jndi:ldap://x/a}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\u0000',
  'a\u0000b',
  '\u0007\u001b[2J',
  '\r\nX-Injected: 1',
  '\ud83d\ude80\u202e\u200b',
  '\ufeff',
  'Ω≈ç√∫˜µ≤≥÷',
  '𝕿𝖍𝖊',
  ' ',
  '',
  '-1',
  '0',
  '1e309',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  '99999999999999999999999999999',
];

/** Unpaired surrogates cannot travel in a URL (UTF-8); bodies carry them as JSON escapes instead. */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** Path segments sent without encoding: broken percent-escapes, dots, raw metacharacters. */
const RAW_SEGMENTS = [
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%C0%AF',
  '..',
  '.',
  '%2F..%2F',
  "'",
  '%00',
  '%0A',
  '~',
  ';',
  '*',
  '$',
];

const uuidLike = () =>
  fc.oneof(
    fc.uuid(),
    fc.uuid().map((u) => u.toUpperCase()),
    fc.uuid().map((u) => u.replace(/-/g, '')),
    fc.uuid().map((u) => `{${u}}`),
    fc.uuid().map((u) => `${u}x`),
    fc.uuid().map((u) => u.slice(0, 35)),
    fc.uuid().map((u) => `urn:uuid:${u}`),
  );

const weirdString = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...EVIL) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 256, maxLength: 300 }) },
    { weight: 1, arbitrary: fc.constantFrom('x'.repeat(3000), 'é'.repeat(500)) },
  );

/** Anything a path segment could hold, existing resources included. */
const segment = () =>
  fc.oneof(
    fc.constantFrom(
      existing.profile,
      existing.profileName,
      existing.arq,
      existing.device,
      existing.deployable,
      existing.attribute,
      hostname,
    ),
    uuidLike(),
    weirdString().filter((s) => s !== ''),
    fc.constantFrom(...RAW_SEGMENTS).map((raw) => ({ raw })),
  );

const QUERY_NAMES = [
  'limit',
  'marker',
  'name',
  'instance',
  'bind_state',
  'arqs',
  'value',
  'hostname',
  'type',
  'vendor',
  'deployable_id',
  'key',
  'filters.field',
  'filters.value',
  'stream',
  'since',
  'until',
  'at',
  'filters[field]',
  'a[b][c]',
  '__proto__',
  'constructor',
];

const queryValue = () =>
  fc.oneof(
    fc.constantFrom('1', '1000', '1001', '0', '-1', '2.5', '1e3', '99999999999999999999', 'resolved', 'name', 'limit'),
    uuidLike(),
    weirdString(),
  );

const query = () =>
  fc.array(
    fc.tuple(
      fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...QUERY_NAMES) }, { weight: 1, arbitrary: weirdString() }),
      queryValue(),
    ),
    { maxLength: 4 },
  );

const headers = () =>
  fc.record(
    {
      'OpenStack-API-Version': fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom('accelerator 2.3', '2.2', 'latest') },
        fc.constantFrom(
          'accelerator 2.0',
          'accelerator latest',
          'accelerator 3.0',
          'accelerator 2.99',
          'accelerator 1.0',
          'accelerator abc',
          'accelerator -2.1',
          'accelerator 2.',
          'compute 2.82',
          'accelerator 2.1, compute 2.1',
          '',
        ),
        // Header values are bytes without control characters; fetch refuses others before sending.
        fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((s) => s.replace(/[\x00-\x1f\x7f]/g, '')),
      ),
      'Content-Type': fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/merge-patch+json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
      ),
      identity: fc.constantFrom('operator', 'member', 'reader', 'nova', 'garbage'),
      'Idempotency-Key': fc.oneof(fc.uuid(), fc.constantFrom(' ', 'k'.repeat(300))),
    },
    { requiredKeys: ['OpenStack-API-Version', 'Content-Type', 'identity'] },
  );

const IDENTITIES: Record<string, Record<string, string>> = {
  operator: {},
  member: { 'X-User-Id': 'fuzz-user', 'X-Project-Id': 'fuzz-project', 'X-Roles': 'member,reader' },
  reader: { 'X-User-Id': 'fuzz-reader', 'X-Project-Id': 'fuzz-project', 'X-Roles': 'reader' },
  nova: { 'X-User-Id': 'fuzz-user', 'X-Project-Id': 'fuzz-project', 'X-Roles': 'member', 'X-Service-Roles': 'service' },
  garbage: { 'X-User-Id': 'u'.repeat(400), 'X-Project-Id': "'; DROP TABLE arqs; --", 'X-Roles': ',,admin ,,' },
};

const anyJson = () => fc.jsonValue({ maxDepth: 4 });

const patchOp = () =>
  fc.record(
    {
      op: fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'move', 'test', 'ADD'), anyJson()),
      path: fc.oneof(
        fc.constantFrom('/hostname', '/device_rp_uuid', '/instance_uuid', '/project_id', '/program', '/', '', '/a/b'),
        anyJson(),
      ),
      value: fc.oneof(uuidLike(), weirdString(), anyJson(), fc.constant(hostname)),
    },
    { requiredKeys: [] },
  );

/** Bodies shaped like each endpoint's own, with wrong parts; any JSON at all for the others. */
function bodyFor(route: Route): fc.Arbitrary<unknown> {
  const key = `${route.method} ${route.path.replace(/^\/v2/, '')}`;
  if (key === 'POST /device_profiles') {
    const profile = fc.record(
      {
        name: fc.oneof(weirdString(), anyJson()),
        description: fc.oneof(weirdString(), anyJson()),
        groups: fc.oneof(
          fc.array(fc.dictionary(weirdString(), fc.oneof(weirdString(), anyJson()), { maxKeys: 4 }), { maxLength: 3 }),
          anyJson(),
        ),
      },
      { requiredKeys: [] },
    );
    return fc.oneof(
      profile.map((p) => [p]),
      profile,
      anyJson(),
    );
  }
  if (key === 'POST /accelerator_requests') {
    return fc.oneof(fc.record({ device_profile_name: fc.oneof(weirdString(), anyJson()) }), anyJson());
  }
  if (key.startsWith('PATCH /accelerator_requests')) {
    const arq = fc.oneof(fc.constant(existing.arq), uuidLike(), weirdString());
    return fc.oneof(
      fc.dictionary(arq, fc.oneof(fc.array(patchOp(), { maxLength: 4 }), anyJson()), { maxKeys: 3 }),
      anyJson(),
    );
  }
  if (key === 'POST /attributes') {
    const attribute = fc.record(
      {
        deployable_id: fc.oneof(
          fc.constantFrom(existing.deployableId, String(existing.deployableId), existing.deployable),
          fc.integer(),
          fc.double(),
          uuidLike(),
          weirdString(),
          anyJson(),
        ),
        key: fc.oneof(weirdString(), anyJson()),
        value: fc.oneof(weirdString(), anyJson()),
      },
      { requiredKeys: [] },
    );
    return fc.oneof(
      attribute,
      attribute.map((a) => ({ attribute: a })),
      anyJson(),
    );
  }
  if (key.includes('/program')) {
    const op = fc.record({
      op: fc.oneof(fc.constantFrom('replace', 'add', 'remove'), anyJson()),
      path: fc.oneof(fc.constant('/program'), weirdString()),
      value: fc.oneof(fc.array(fc.record({ image_uuid: fc.oneof(uuidLike(), weirdString(), anyJson()) })), anyJson()),
    });
    return fc.oneof(fc.array(op, { maxLength: 3 }), anyJson());
  }
  return anyJson();
}

const MALFORMED = [
  '{',
  '{"a":',
  'not json',
  '[1,2',
  '{"a":1}}',
  "{'a': 1}",
  '{"a": NaN}',
  '{"a": undefined}',
  '\u0000',
  '\ufeff{}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '1e99999',
  '['.repeat(20_000) + ']'.repeat(20_000),
];

function request(route: Route): fc.Arbitrary<FuzzRequest> {
  const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
  const hasBody = ['POST', 'PATCH', 'PUT', 'DELETE'].includes(route.method);
  return fc
    .record({
      segments: fc.tuple(...params.map(() => segment())),
      query: query(),
      headers: headers(),
      body: hasBody
        ? fc.oneof(
            { weight: 3, arbitrary: bodyFor(route).map((b) => JSON.stringify(b)) },
            { weight: 1, arbitrary: fc.constantFrom(...MALFORMED) },
            { weight: 1, arbitrary: fc.constant(undefined) },
          )
        : fc.constant(undefined),
    })
    .map(({ segments, query, headers: h, body }) => {
      let path = route.path;
      params.forEach((name, i) => {
        const value = segments[i];
        path = path.replace(`:${name}`, typeof value === 'string' ? encodeURIComponent(wellFormed(value)) : value.raw);
      });
      const { identity, ...rest } = h;
      return {
        method: route.method,
        path,
        query: query.map(([k, v]) => [wellFormed(k), wellFormed(v)] as [string, string]),
        headers: { ...IDENTITIES[identity], ...rest },
        body: body as string | undefined,
      };
    });
}

// --- what every answer must be ---------------------------------------------

const clip = (text: string, max = 1500) =>
  text.length > max ? `${text.slice(0, max)}...(${text.length} chars)` : text;

async function eventCount(): Promise<number> {
  const rows: { n: number }[] = await system.db.dataSource.query(`SELECT count(*)::int AS n FROM events`);
  return rows[0].n;
}

async function send(r: FuzzRequest): Promise<Outcome> {
  const before = await eventCount();
  const url = new URL(`${system.apiUrl}${r.path}`);
  for (const [k, v] of r.query) url.searchParams.append(k, v);
  const response = await fetch(url, {
    method: r.method,
    headers: r.headers,
    body: r.body,
    signal: AbortSignal.timeout(20_000),
  });
  // A live stream (server-sent events) never ends: its first chunk is the answer.
  const text = response.headers.get('content-type')?.startsWith('text/event-stream')
    ? await firstChunkOf(response)
    : await response.text();
  const newEvents: Outcome['newEvents'] = await system.db.dataSource.query(
    `SELECT type, stream_id FROM events ORDER BY position OFFSET $1`,
    [before],
  );
  return { status: response.status, text, newEvents };
}

async function firstChunkOf(response: Response): Promise<string> {
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return new TextDecoder().decode(value);
}

/** Why an answer breaks the rules, or null. */
function problemWith(r: FuzzRequest, outcome: Outcome): string | null {
  const { status, text, newEvents } = outcome;
  if (status >= 500) return `answered ${status}: ${text.slice(0, 500)}`;
  // Node's HTTP parser refuses request heads over 16 KiB before the API sees them, with no body.
  if (status === 431) return null;
  if (status >= 400) {
    let faultstring: unknown;
    try {
      const { error_message } = JSON.parse(text) as { error_message?: unknown };
      if (typeof error_message !== 'string') return `a ${status} without error_message: ${text.slice(0, 300)}`;
      // Cyborg's 423 carries no fault; every other error has a faultstring to read.
      if (status === 423 && error_message === 'null') return null;
      faultstring = (JSON.parse(error_message) as { faultstring?: unknown }).faultstring;
    } catch {
      return `a ${status} not in Cyborg's error shape: ${text.slice(0, 300)}`;
    }
    if (typeof faultstring !== 'string' || faultstring.trim() === '') return `a ${status} with no message: ${text}`;
    if (/\n\s+at /.test(faultstring)) return `a ${status} with a stack trace: ${faultstring.slice(0, 300)}`;
    // A refused request writes nothing, except what a refused bind records by design: its BindFailed.
    const bindRefusal = r.method === 'PATCH' && r.path.includes('accelerator_requests');
    const written = newEvents.filter((e) => !(bindRefusal && e.type === 'ArqBindFailed'));
    if (written.length > 0) {
      return `a refused request (${status}) wrote ${written.map((e) => `${e.type}@${e.stream_id}`).join(', ')}`;
    }
  }
  return null;
}

async function expectNoProblem(r: FuzzRequest): Promise<Outcome> {
  const outcome = await send(r);
  const problem = problemWith(r, outcome);
  if (problem) throw new Error(clip(`${r.method} ${r.path}?${new URLSearchParams(r.query)}: ${problem}`));
  return outcome;
}

// --- the system under test --------------------------------------------------

beforeAll(async () => {
  nova = await FakeNova.start();
  system = await TestSystem.start({ name: 'fuzz', hostname, settings: { NOVA_URL: nova.url } });
  routes = await apiRoutes();
  const api = system.apiUrl;
  const json = { 'Content-Type': 'application/json' };
  existing.profileName = `fuzz-dp-${randomUUID().slice(0, 6)}`;
  const profile = await fetch(`${api}/v2/device_profiles`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify([{ name: existing.profileName, groups: [{ 'resources:FPGA': '1' }] }]),
  });
  existing.profile = ((await profile.json()) as { uuid: string }).uuid;
  const arq = await fetch(`${api}/v2/accelerator_requests`, {
    method: 'POST',
    headers: { ...json, ...IDENTITIES.member },
    body: JSON.stringify({ device_profile_name: existing.profileName }),
  });
  existing.arq = ((await arq.json()) as { arqs: { uuid: string }[] }).arqs[0].uuid;
  for (let i = 0; i < 200 && !existing.deployable; i++) {
    const answer = await fetch(`${api}/v2/deployables?filters.field=name&filters.value=${hostname}_FakeDevice`);
    const [deployable] = ((await answer.json()) as { deployables: { uuid: string }[] }).deployables;
    if (deployable) existing.deployable = deployable.uuid;
    else await new Promise((r) => setTimeout(r, 100));
  }
  // Cyborg's integer id, which attributes name their deployable by; the API shows it nowhere else.
  const ids: { id: string }[] = await system.db.dataSource.query(`SELECT id FROM deployables WHERE uuid = $1`, [
    existing.deployable,
  ]);
  existing.deployableId = Number(ids[0].id);
  const devices = (await (await fetch(`${api}/v2/devices?hostname=${hostname}`)).json()) as {
    devices: { uuid: string }[];
  };
  existing.device = devices.devices[0].uuid;
  const attribute = await fetch(`${api}/v2/attributes`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ deployable_id: existing.deployable, key: 'fuzz_key', value: 'fuzz' }),
  });
  existing.attribute = ((await attribute.json()) as { uuid: string }).uuid;
  expect(Object.values(existing).every(Boolean)).toBe(true);
}, 120_000);

afterAll(async () => {
  await system?.close();
  await nova?.close();
});

describe('the routes', () => {
  it('are read from every controller, so a new endpoint is fuzzed too', () => {
    const names = routes.map((r) => `${r.method} ${r.path}`);
    for (const route of [
      'GET /healthz',
      'GET /v2/device_profiles/:uuidOrName',
      'POST /v2/accelerator_requests',
      'PATCH /v2/accelerator_requests',
      'DELETE /v2/accelerator_requests/:uuid',
      'POST /v2/devices/:uuid/disable',
      'GET /v2/deployables',
      'POST /v2/attributes',
      'GET /v2/placement_sync/:hostname',
      'GET /device_profiles',
    ]) {
      expect(names).toContain(route);
    }
    expect(routes.length).toBeGreaterThanOrEqual(35);
  });
});

describe('every endpoint, fuzzed', () => {
  // One property per route: a failure names the route, the seed and the smallest request that fails.
  it('answers every request with a success or a 4xx in Cyborg’s shape, and a refusal writes nothing', async () => {
    let requests = 0;
    for (const route of routes) {
      const details = await fc.check(
        fc.asyncProperty(request(route), async (r) => {
          requests++;
          await expectNoProblem(r);
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
      if (details.failed) {
        const error =
          details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(
          `${route.method} ${route.path} (seed ${details.seed}, path ${details.counterexamplePath}): ${clip(error)}`,
        );
      }
    }
    expect(requests).toBeGreaterThanOrEqual(routes.length * RUNS);
    // Nothing crashed: the API still answers, and the services under it too.
    expect((await fetch(`${system.apiUrl}/healthz`)).status).toBe(200);
  }, 600_000);
});

describe('each class of bad input, on every endpoint that takes it', () => {
  const bodyRoutes = () =>
    routes.filter((r) => ['POST', 'PATCH', 'PUT'].includes(r.method) && r.path.startsWith('/v2'));
  const fill = (route: Route) =>
    route.path.replace(/:(\w+)/g, (_, name: string) => (name === 'hostname' ? hostname : existing.deployable));

  it('refuses malformed JSON with 400 and says so', async () => {
    for (const route of bodyRoutes()) {
      const outcome = await expectNoProblem({
        method: route.method,
        path: fill(route),
        query: [],
        headers: { 'Content-Type': 'application/json' },
        body: '{"name": ',
      });
      expect(`${route.method} ${route.path} ${outcome.status} ${outcome.text}`).toMatch(
        / 400 .*Request is not in valid JSON format/,
      );
    }
  });

  it('refuses a body over the limit with 413 in Cyborg’s shape, before reading it whole', async () => {
    const huge = JSON.stringify({ device_profile_name: 'x'.repeat(1024 * 1024) });
    for (const route of bodyRoutes()) {
      const outcome = await expectNoProblem({
        method: route.method,
        path: fill(route),
        query: [],
        headers: { 'Content-Type': 'application/json' },
        body: huge,
      });
      expect(`${route.method} ${route.path} ${outcome.status}`).toBe(`${route.method} ${route.path} 413`);
      expect(outcome.text).toMatch(/larger than the limit/);
    }
  });

  it('refuses unknown microversions with 406 on every versioned endpoint', async () => {
    for (const route of routes.filter((r) => r.path.startsWith('/v2/') && r.method === 'GET')) {
      for (const version of ['accelerator 2.99', 'accelerator 3.0', 'accelerator abc']) {
        const outcome = await expectNoProblem({
          method: 'GET',
          path: fill(route),
          query: [],
          headers: { 'OpenStack-API-Version': version },
        });
        expect(`${route.path} ${version} ${outcome.status}`).toBe(`${route.path} ${version} 406`);
      }
    }
  });

  it.each([
    [
      [
        ['limit', '1'],
        ['limit', '2'],
      ],
    ],
    [[['limit', '-1']]],
    [[['limit', '0']]],
    [[['limit', 'ten']]],
    [[['marker', 'not-a-uuid']]],
    [[['marker', randomUUID()]]],
    [[['no_such_parameter', '1']]],
    [[['limit[a]', '1']]],
  ])('refuses absurd paging on every list: %j', async (params) => {
    const lists = routes.filter(
      (r) =>
        r.method === 'GET' &&
        /^\/v2\/(device_profiles|accelerator_requests|devices|deployables|attributes)$/.test(r.path),
    );
    expect(lists).toHaveLength(5);
    for (const route of lists) {
      const outcome = await expectNoProblem({
        method: 'GET',
        path: route.path,
        query: params as [string, string][],
        headers: {},
      });
      expect(`${route.path} ${outcome.status}`).toBe(`${route.path} 400`);
    }
  });

  it.each(['99999999999999999999999', '1'.repeat(5000)])('takes a huge limit as the page size: %s', async (limit) => {
    const outcome = await expectNoProblem({
      method: 'GET',
      path: '/v2/deployables',
      query: [['limit', limit]],
      headers: {},
    });
    expect(outcome.status).toBe(200);
  });

  it('refuses what PostgreSQL cannot store (NUL, unpaired surrogates) with 400, in paths, queries and bodies', async () => {
    const cases: FuzzRequest[] = [
      {
        method: 'GET',
        path: `/v2/device_profiles/${encodeURIComponent('a\u0000b')}`,
        query: [],
        headers: { 'OpenStack-API-Version': 'accelerator 2.2' },
      },
      { method: 'GET', path: '/v2/device_profiles', query: [['name', 'a\u0000b']], headers: {} },
      { method: 'GET', path: `/v2/placement_sync/${encodeURIComponent('h\u0000')}`, query: [], headers: {} },
      {
        method: 'POST',
        path: '/v2/device_profiles',
        query: [],
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify([{ name: 'nul\u0000name', groups: [{ 'resources:FPGA': '1' }] }]),
      },
      {
        method: 'POST',
        path: '/v2/device_profiles',
        query: [],
        headers: { 'Content-Type': 'application/json' },
        body: '[{"name": "lone\\ud800", "groups": [{"resources:FPGA": "1"}]}]',
      },
      {
        method: 'POST',
        path: '/v2/accelerator_requests',
        query: [],
        headers: { 'Content-Type': 'application/json' },
        body: '{"device_profile_name": "\\u0000"}',
      },
    ];
    for (const r of cases) {
      const outcome = await expectNoProblem(r);
      expect(`${r.method} ${r.path} ${outcome.status}`).toBe(`${r.method} ${r.path} 400`);
    }
  });
});
