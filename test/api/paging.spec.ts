import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { TestSystem } from '../support/system';

/**
 * `limit` and `marker` on every list, over real HTTP and through the real
 * openstacksdk, whose loop (`?limit=N&marker=<last uuid>` until an empty
 * page) must end with every item exactly once.
 */
const run = promisify(execFile);
const INSTALL_TIMEOUT_MS = 240_000;
const hostname = `page-${randomUUID().slice(0, 8)}`;
let system: TestSystem;
let api: string;

interface Answer<T = unknown> {
  status: number;
  body: T;
}

async function get<T = unknown>(path: string, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const response = await fetch(`${api}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as T };
}

async function post<T = unknown>(
  path: string,
  json: unknown,
  headers: Record<string, string> = {},
): Promise<Answer<T>> {
  const response = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(json),
  });
  return { status: response.status, body: (await response.json()) as T };
}

function fault(answer: Answer): string {
  const { error_message } = answer.body as { error_message: string };
  return (JSON.parse(error_message) as { faultstring: string }).faultstring;
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

type Item = { uuid: string } & Record<string, unknown>;

/** Every page of `path` as openstacksdk walks it; the query may carry filters already. */
async function walk(path: string, key: string, limit: number, headers: Record<string, string> = {}) {
  const pages: Item[][] = [];
  let marker: string | undefined;
  for (;;) {
    const sep = path.includes('?') ? '&' : '?';
    const answer = await get<Record<string, Item[]>>(
      `${path}${sep}limit=${limit}${marker ? `&marker=${marker}` : ''}`,
      headers,
    );
    expect(answer.status).toBe(200);
    const page = answer.body[key];
    pages.push(page);
    if (page.length === 0) return pages;
    if (pages.length > 100) throw new Error('endless paging');
    marker = page[page.length - 1].uuid;
  }
}

const LISTS = [
  ['/v2/device_profiles', 'device_profiles'],
  ['/v2/accelerator_requests', 'arqs'],
  ['/v2/devices', 'devices'],
  ['/v2/deployables', 'deployables'],
  ['/v2/attributes', 'attributes'],
] as const;

const PROFILES = 5;
const ARQS = 5;

// The SDK test drives the real clients, installed here when missing (apt-get, as root); no client, no pass.
await run('bash', [new URL('../../scripts/install-openstack-clients.sh', import.meta.url).pathname], {
  timeout: INSTALL_TIMEOUT_MS,
});

beforeAll(async () => {
  system = await TestSystem.start({ name: 'paging', hostname });
  api = system.apiUrl;
  // The example host and the fake FPGA: 7 devices, 19 deployables.
  await eventually(async () =>
    (await get<{ deployables: unknown[] }>('/v2/deployables')).body.deployables.length === 19 ? true : undefined,
  );
  for (let i = 0; i < PROFILES; i++) {
    const answer = await post('/v2/device_profiles', [{ name: `page-dp-${i}`, groups: [{ 'resources:FPGA': '1' }] }]);
    expect(answer.status).toBe(201);
  }
  for (let i = 0; i < ARQS; i++) {
    const answer = await post(
      '/v2/accelerator_requests',
      { device_profile_name: `page-dp-${i}` },
      { 'X-User-Id': 'u', 'X-Project-Id': 'project-p', 'X-Roles': 'member,reader' },
    );
    expect(answer.status).toBe(201);
  }
});

afterAll(() => system?.close());

describe('paging over HTTP', () => {
  it.each(LISTS)('%s: pages of `limit` in the list order, ending with an empty page', async (path, key) => {
    const whole = (await get<Record<string, Item[]>>(path)).body[key];
    expect(whole.length).toBeGreaterThanOrEqual(5);
    for (const limit of [1, 2, 3, whole.length, whole.length + 5]) {
      const pages = await walk(path, key, limit);
      expect(pages.flat()).toEqual(whole);
      expect(pages[pages.length - 1]).toEqual([]);
      for (const page of pages.slice(0, -2)) expect(page).toHaveLength(limit);
      expect(pages).toHaveLength(Math.ceil(whole.length / limit) + 1);
    }
  });

  it('pages filtered lists within the filter', async () => {
    const rc = (await get<{ attributes: Item[] }>('/v2/attributes?key=rc')).body.attributes;
    expect(rc.length).toBeGreaterThan(2);
    expect((await walk('/v2/attributes?key=rc', 'attributes', 2)).flat()).toEqual(rc);

    const names = 'page-dp-4,page-dp-1,page-dp-3';
    const profiles = (await get<{ device_profiles: Item[] }>(`/v2/device_profiles?name=${names}`)).body.device_profiles;
    expect(profiles.map((p) => p.name)).toEqual(['page-dp-1', 'page-dp-3', 'page-dp-4']);
    expect((await walk(`/v2/device_profiles?name=${names}`, 'device_profiles', 1)).flat()).toEqual(profiles);

    const vendor = (await get<{ devices: Item[] }>(`/v2/devices?hostname=${hostname}`)).body.devices;
    expect((await walk(`/v2/devices?hostname=${hostname}`, 'devices', 4)).flat()).toEqual(vendor);
  });

  it("pages only the caller's own ARQs, and refuses another project's as a marker", async () => {
    const owner = { 'X-User-Id': 'u', 'X-Project-Id': 'project-p', 'X-Roles': 'member,reader' };
    const stranger = { 'X-User-Id': 'o', 'X-Project-Id': 'project-q', 'X-Roles': 'member,reader' };
    const own = (await get<{ arqs: Item[] }>('/v2/accelerator_requests', owner)).body.arqs;
    expect(own).toHaveLength(ARQS);
    expect((await walk('/v2/accelerator_requests', 'arqs', 2, owner)).flat()).toEqual(own);
    const refused = await get(`/v2/accelerator_requests?limit=2&marker=${own[0].uuid}`, stranger);
    expect(refused.status).toBe(400);
    expect(fault(refused)).toBe(`Marker ${own[0].uuid} not found`);
  });

  it("applies upstream's legacy `filters.field=limit` and `limit` together: the smaller wins", async () => {
    const whole = (await get<{ deployables: Item[] }>('/v2/deployables')).body.deployables;
    const both = await get<{ deployables: Item[] }>(
      `/v2/deployables?filters.field=limit&filters.value=3&limit=5&marker=${whole[0].uuid}`,
    );
    expect(both.body.deployables).toEqual(whole.slice(1, 4));
  });

  it.each(LISTS)('%s: refuses a bad limit or an unknown marker with 400, naming it', async (path) => {
    for (const limit of ['0', '-1', 'abc', '1.5', '', '2,3']) {
      const answer = await get(`${path}?limit=${encodeURIComponent(limit)}`);
      expect(answer.status).toBe(400);
      expect(fault(answer)).toBe(
        `Invalid input for field/attribute limit. Value: '${limit}'. Value should be a positive integer.`,
      );
    }
    const missing = randomUUID();
    const unknown = await get(`${path}?limit=2&marker=${missing}`);
    expect(unknown.status).toBe(400);
    expect(fault(unknown)).toBe(`Marker ${missing} not found`);
    const notUuid = await get(`${path}?marker=not-a-uuid`);
    expect(notUuid.status).toBe(400);
    expect(fault(notUuid)).toBe('Marker not-a-uuid not found');
    // Everything else stays strict.
    const sort = await get(`${path}?limit=2&sort_key=uuid`);
    expect(sort.status).toBe(400);
    expect(fault(sort)).toBe('Unknown argument: "sort_key"');
  });

  it('takes a limit above the page size cap as the cap', async () => {
    const whole = (await get<{ deployables: Item[] }>('/v2/deployables')).body.deployables;
    const huge = await get<{ deployables: Item[] }>('/v2/deployables?limit=99999999');
    expect(huge.status).toBe(200);
    expect(huge.body.deployables).toEqual(whole);
  });
});

describe('paging through openstacksdk', () => {
  it('walks device profiles, deployables, devices and ARQs page by page to the end', async () => {
    // Each list's GETs are recorded, to see that the SDK paged rather than got everything at once.
    const script = `
import json, openstack
c = openstack.connection.Connection(auth_type='none', accelerator_endpoint_override='${api}')
proxy = c.accelerator
sent = []
original = proxy.get
def get(*args, **kwargs):
    sent.append(dict(kwargs.get('params') or {}))
    return original(*args, **kwargs)
proxy.get = get
out = {}
for key, items in [('device_profiles', lambda: proxy.device_profiles(limit=2)),
                   ('deployables', lambda: proxy.deployables(limit=2)),
                   ('devices', lambda: proxy.devices(limit=3)),
                   ('arqs', lambda: proxy.accelerator_requests(limit=2))]:
    sent.clear()
    out[key] = {'ids': [item.id for item in items()], 'requests': list(sent)}
print(json.dumps(out))
`;
    const { stdout } = await run('/usr/bin/python3', ['-c', script], { timeout: 60_000 });
    const out = JSON.parse(stdout) as Record<string, { ids: string[]; requests: Record<string, string>[] }>;
    const limits: Record<string, number> = { device_profiles: 2, deployables: 2, devices: 3, arqs: 2 };
    for (const [path, key] of LISTS.filter(([, k]) => k !== 'attributes')) {
      const whole = (await get<Record<string, Item[]>>(path)).body[key];
      const limit = limits[key];
      expect(whole.length).toBeGreaterThan(limit);
      expect(out[key].ids).toEqual(whole.map((item) => item.uuid));
      // One request per page, and the empty one that ends the loop.
      const requests = out[key].requests;
      expect(requests).toHaveLength(Math.ceil(whole.length / limit) + 1);
      expect(requests[0]).toEqual({ limit });
      expect(requests[1]).toEqual({ limit, marker: whole[limit - 1].uuid });
    }
  });
});
