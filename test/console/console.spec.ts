/// <reference lib="dom" />
// The functions handed to page.* run in the browser.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { type ArqBody, bindOps, eventually, http, novaFor, unique, userOf } from '../arqs/support';
import { BROWSER_SETUP_TIMEOUT_MS, buildConsole, launchBrowser } from '../support/browser';
import { TestSystem } from '../support/system';

/**
 * The web console in a real headless Chromium against the whole system
 * (PostgreSQL, NATS, conductor, API, agent): what an operator and a project
 * member see, and the event log following a bind live.
 */
const hostname = `console-${randomUUID().slice(0, 6)}`;
const projectA = 'project-a';
const projectC = 'project-c';
/** Where screenshots go: a temporary folder, or `docs/` for the README with CONSOLE_SCREENSHOTS_DIR=docs. */
let screenshots: string;

let system: TestSystem;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let consoleDir: string;
let fakeRp: string;
let profile: string;
let boundArq: string;
let boundInstance: string;

const call = <T = unknown>(
  method: string,
  path: string,
  options: { json?: unknown; headers?: Record<string, string> } = {},
) => http<T>(system.apiUrl, method, path, options);

async function createArq(project: string): Promise<string> {
  const answer = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', {
    json: { device_profile_name: profile },
    headers: userOf(project),
  });
  expect(answer.status).toBe(201);
  return answer.body.arqs[0].uuid;
}

async function bindAndWait(arq: string, project: string, instance: string): Promise<void> {
  const answer = await call('PATCH', '/v2/accelerator_requests', {
    json: { [arq]: bindOps(hostname, fakeRp, instance) },
    headers: novaFor(project),
  });
  expect(answer.status).toBe(202);
  await eventually(async () => {
    const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`);
    return body.state === 'Bound' ? body : undefined;
  });
}

async function open(path: string, headers?: Record<string, string>): Promise<Page> {
  const context = headers ? await browser.createBrowserContext() : browser.defaultBrowserContext();
  const page = await context.newPage();
  if (headers) await page.setExtraHTTPHeaders(headers);
  await page.goto(`${system.apiUrl}/console/${path}`, { waitUntil: 'domcontentloaded' });
  return page;
}

const textOf = (page: Page, selector: string) => page.$eval(selector, (element) => (element as HTMLElement).innerText);

async function waitForText(page: Page, selector: string, text: string): Promise<string> {
  await page.waitForFunction(
    (s: string, t: string) => {
      const element = document.querySelector(s) as HTMLElement | null;
      // innerText follows CSS text-transform: compare without case.
      return element !== null && element.innerText.toLowerCase().includes(t.toLowerCase());
    },
    { timeout: 20_000 },
    selector,
    text,
  );
  return textOf(page, selector);
}

beforeAll(async () => {
  consoleDir = await mkdtemp(join(tmpdir(), 'cyborg-console-'));
  await buildConsole(consoleDir);
  // After the build: it empties its folder.
  screenshots = process.env.CONSOLE_SCREENSHOTS_DIR ?? join(consoleDir, 'screenshots');
  await mkdir(screenshots, { recursive: true });
  ({ browser, close: closeBrowser } = await launchBrowser());
  system = await TestSystem.start({
    name: 'console',
    hostname,
    settings: { CONSOLE_DIR: consoleDir },
    agentSettings: { AGENT_REPORT_INTERVAL_MS: '600000', AGENT_HEARTBEAT_INTERVAL_MS: '1000' },
  });
  fakeRp = await eventually(async () => {
    const { body } = await call<{ deployables: { rp_uuid: string }[] }>(
      'GET',
      `/v2/deployables?filters.field=name&filters.value=${hostname}_FakeDevice`,
    );
    return body.deployables[0]?.rp_uuid;
  });
  profile = unique('dp');
  const created = await call('POST', '/v2/device_profiles', {
    json: [{ name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] }],
  });
  expect(created.status).toBe(201);
  boundArq = await createArq(projectA);
  boundInstance = randomUUID();
  await bindAndWait(boundArq, projectA, boundInstance);
  await createArq(projectA);
}, BROWSER_SETUP_TIMEOUT_MS);

afterAll(async () => {
  await closeBrowser?.();
  await system?.close();
  if (consoleDir) await rm(consoleDir, { recursive: true, force: true });
});

describe('the web console, as the operator (noauth on loopback: no sign-in)', () => {
  it('is served by the API under /console with a strict content security policy', async () => {
    const redirect = await fetch(`${system.apiUrl}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/console/');
    const page = await fetch(`${system.apiUrl}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toMatch(/<script type="module" crossorigin src="\/console\/assets\/index-[\w-]+\.js">/);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('lists the host, up, with its heartbeat and agent version', async () => {
    const page = await open('#/hosts');
    await waitForText(page, '[data-testid=hosts]', hostname);
    // The first heartbeat may come after the page loaded: refresh until it shows.
    await page.waitForFunction(
      () => {
        const table = document.querySelector('[data-testid=hosts]') as HTMLElement | null;
        if (table?.innerText.includes(' s ago')) return true;
        (document.querySelector('.panel-actions button') as HTMLButtonElement | null)?.click();
        return false;
      },
      { timeout: 20_000, polling: 500 },
    );
    const table = await textOf(page, '[data-testid=hosts]');
    expect(table).toContain('up');
    expect(table).toContain('0.1.0');
    expect(await textOf(page, '[data-testid=identity]')).toContain('noauth');
    await page.screenshot({ path: join(screenshots, 'console-hosts.png') });
    await page.close();
  });

  it("shows a host's devices, deployable tree and attach handles with the ARQ and instance holding each", async () => {
    const page = await open(`#/hosts/${hostname}`);
    await waitForText(page, '.content', `${hostname}_FakeDevice`);
    const held = await page.$$eval('tr.in-use', (rows) => rows.map((r) => (r as HTMLElement).innerHTML));
    expect(held).toHaveLength(1);
    expect(held[0]).toContain(boundArq);
    expect(held[0]).toContain(boundInstance);
    expect(held[0]).toContain('Bound');
    await page.screenshot({ path: join(screenshots, 'console-host.png'), fullPage: false });
    await page.close();
  });

  it("lists the ARQs with their state, draws an ARQ's history as a timeline and shows the state at a chosen event", async () => {
    const list = await open('#/arqs');
    const arqs = await waitForText(list, '[data-testid=arqs]', boundArq.slice(0, 8));
    expect(arqs).toContain('Bound');
    expect(arqs).toContain('Initial');
    await list.close();

    const page = await open(`#/arqs/${boundArq}`);
    await page.waitForSelector('.timeline-entry', { timeout: 20_000 });
    const entries = await page.$$eval('.timeline-entry .timeline-type', (e) =>
      e.map((x) => (x as HTMLElement).innerText),
    );
    expect(entries).toEqual(['ArqCreated', 'ArqBindStarted', 'ArqBound']);
    const who = await textOf(page, '.timeline');
    expect(who).toContain(`user-of-${projectA}@${projectA}`);
    expect(who).toContain('bind_arqs');
    // The state the bind's start left: BindStarted, before the agent confirmed.
    const started = await page.$$('.timeline-entry');
    await (await started[1].$('button.link'))!.click();
    const state = await waitForText(page, '[data-testid=state-at]', 'BindStarted');
    expect(state).toContain(hostname);
    expect(state).toContain('As left by ArqBindStarted');
    await page.screenshot({ path: join(screenshots, 'console-arq-history.png') });
    await page.close();
  });

  it('follows the event log live: a bind shows up as it happens', async () => {
    const page = await open('#/events');
    await waitForText(page, '[data-testid=stream-status]', 'live');
    // The backlog: the latest events, the bind of beforeAll among them.
    await page.waitForSelector(`tr[data-type=ArqBound][data-stream="arq-${boundArq}"]`, { timeout: 20_000 });
    const arq = await createArq(projectA);
    await bindAndWait(arq, projectA, randomUUID());
    await page.waitForSelector(`tr.fresh[data-type=ArqBindStarted][data-stream="arq-${arq}"]`, { timeout: 20_000 });
    await page.waitForSelector(`tr[data-type=ArqBound][data-stream="arq-${arq}"]`, { timeout: 20_000 });
    await page.screenshot({ path: join(screenshots, 'console-events.png') });

    // The audit filters apply to the stream too.
    await page.type('input[name=type]', 'ArqCreated');
    await page.click('button[type=submit]');
    await page.waitForFunction(
      () =>
        document.querySelectorAll('[data-testid=events] tbody tr').length > 0 &&
        [...document.querySelectorAll('[data-testid=events] tbody tr')].every(
          (r) => r.getAttribute('data-type') === 'ArqCreated',
        ),
      { timeout: 20_000 },
    );
    await page.close();
  });

  it('shows where the projections and the relay stand, Placement sync, and the binds of the log', async () => {
    const page = await open('#/status');
    const readers = await waitForText(page, '[data-testid=log-readers]', 'relay:jetstream');
    for (const projection of ['arqs', 'inventory', 'device_profiles']) expect(readers).toContain(projection);
    const summary = await waitForText(page, '[data-testid=bind-summary]', 'p50');
    expect(summary.toLowerCase()).toMatch(/bound\s+2\b/);
    await page.close();
  });

  it('draws bind throughput and latency from the metrics, sampled while the page is open', async () => {
    const page = await open('#/status');
    // The first sample is the baseline: what follows grows from it.
    await page.waitForSelector('[data-testid=bind-metrics]', { timeout: 20_000 });
    const samples = () => page.$eval('[data-testid=bind-metrics]', (e) => Number(e.getAttribute('data-samples')));
    // Binds over a few sampling intervals, each round waiting for the sample after it.
    for (let round = 0; round < 3; round++) {
      const before = await samples();
      for (let i = 0; i <= round; i++) await bindAndWait(await createArq(projectA), projectA, randomUUID());
      await page.waitForFunction(
        (n: number) => Number(document.querySelector('[data-testid=bind-metrics]')?.getAttribute('data-samples')) > n,
        { timeout: 30_000 },
        before,
      );
    }
    // A later sample holds the binds: a bar of binds per second and a latency point drawn from the buckets.
    await page.waitForSelector('svg[aria-label="bind rate"] rect.bar-bound', { timeout: 30_000 });
    await page.waitForSelector('svg[aria-label="bind latency"] .line-p50 polyline', { timeout: 30_000 });
    const facts = await textOf(page, '[data-testid=bind-metrics]');
    const figure = (label: string) => new RegExp(`${label}\\s+([^\\n]+)`, 'i').exec(facts)?.[1] ?? '';
    expect(figure('p50')).toMatch(/^\d+(\.\d+)? ms$/);
    expect(figure('p99')).toMatch(/^\d+(\.\d+)? ms$/);
    expect(Number(figure('Bound, last minute').replace('/s', ''))).toBeGreaterThan(0);
    // The totals are the metrics' own: the counter of bound binds the API reports.
    const metrics = await call<{ binds: { outcome: string; count: number }[] }>('GET', '/v2/bind_metrics');
    expect(metrics.status).toBe(200);
    const bound = metrics.body.binds.filter((b) => b.outcome === 'bound').reduce((sum, b) => sum + b.count, 0);
    expect(bound).toBeGreaterThanOrEqual(8);
    expect(Number(figure('Bound \\(total\\)'))).toBe(bound);
    await page.screenshot({ path: join(screenshots, 'console-status.png'), fullPage: true });
    await page.close();
  });
});

describe('the web console, as a member of another project', () => {
  it('sees none of the other project: no ARQs, no events, live or not, and no hosts', async () => {
    const member = userOf(projectC);
    const arqs = await open('#/arqs', member);
    await waitForText(arqs, '.content', 'No accelerator requests you can see');
    expect(await textOf(arqs, 'nav')).not.toContain('Hosts');
    await arqs.close();

    const hosts = await open('#/hosts', member);
    await waitForText(hosts, '.failure', '403');
    await hosts.close();

    const events = await open('#/events', member);
    await waitForText(events, '[data-testid=stream-status]', 'live');
    // Another project binds while the member watches, then the member's own project creates an ARQ:
    // the log is followed in order, so once the member's ARQ shows, the other bind would have shown before it.
    const other = await createArq(projectA);
    await bindAndWait(other, projectA, randomUUID());
    const own = await createArq(projectC);
    await events.waitForSelector(`tr[data-type=ArqCreated][data-stream="arq-${own}"]`, { timeout: 20_000 });
    const streams = await events.$$eval('[data-testid=events] tbody tr', (rows) =>
      rows.map((r) => r.getAttribute('data-stream')),
    );
    expect(streams).toEqual([`arq-${own}`]);
    await events.close();

    const history = await open(`#/arqs/${boundArq}`, member);
    await waitForText(history, '.content', '404');
    await history.close();
  });

  it('sees no bind metrics: the API refuses them and the status page draws no chart', async () => {
    const member = userOf(projectC);
    const refused = await call('GET', '/v2/bind_metrics', { headers: member });
    expect(refused.status).toBe(403);
    const status = await open('#/status', member);
    await status.waitForFunction(
      () => [...document.querySelectorAll('.failure')].some((f) => f.textContent?.includes('cyborg:bind_metrics:get')),
      { timeout: 20_000 },
    );
    expect(await status.$$('svg.chart')).toHaveLength(0);
    expect(await status.$('[data-testid=bind-metrics]')).toBeNull();
    await status.close();
  });
});
