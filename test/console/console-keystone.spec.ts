/// <reference lib="dom" />
// The functions handed to page.* run in the browser.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import { type ArqBody, bindOps, eventually, http, unique } from '../arqs/support';
import { keystoneSettings } from '../keystone/support';
import { BROWSER_SETUP_TIMEOUT_MS, buildConsole, launchBrowser } from '../support/browser';
import { KEYSTONE_START_TIMEOUT_MS, passwordOf, type PersonaName, TestKeystone } from '../support/keystone';
import { TestSystem } from '../support/system';

/**
 * The web console with AUTH_STRATEGY=keystone in a real headless Chromium,
 * against the whole system and a real Keystone: a person signs in with
 * their user and password on the console's form, sees their project's ARQs
 * and nothing of another project's, and signing out ends the session (the
 * API refuses the page's requests, and the old token, at once).
 */
const hostname = `console-ks-${randomUUID().slice(0, 6)}`;
let keystone: TestKeystone;
let system: TestSystem;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let consoleDir: string;
let demoArq: string;
let profile: string;

const call = async <T = unknown>(method: string, path: string, as: PersonaName, json?: unknown) =>
  http<T>(system.apiUrl, method, path, { json, headers: { 'X-Auth-Token': await keystone.token(as) } });

const textOf = (page: Page, selector: string) => page.$eval(selector, (element) => (element as HTMLElement).innerText);

async function waitForText(page: Page, selector: string, text: string): Promise<string> {
  await page.waitForFunction(
    (s: string, t: string) => {
      const element = document.querySelector(s) as HTMLElement | null;
      return element !== null && element.innerText.toLowerCase().includes(t.toLowerCase());
    },
    { timeout: 20_000 },
    selector,
    text,
  );
  return textOf(page, selector);
}

/** A fresh browser profile (own cookies) signed in on the console's form. */
async function signIn(username: string, project: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.goto(`${system.apiUrl}/console/#/arqs`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('form.signin-card', { timeout: 20_000 });
  await page.type('input[name=username]', username);
  await page.type('input[name=password]', passwordOf(username));
  await page.type('input[name=project_name]', project);
  await page.click('button[type=submit]');
  await waitForText(page, '[data-testid=identity]', `${username} @ ${project}`);
  return { context, page };
}

/** What the API answers the page's own same-origin request (its cookies go along). */
const statusFromPage = (page: Page, path: string) =>
  page.evaluate(async (p: string) => (await fetch(p, { credentials: 'same-origin' })).status, path);

beforeAll(async () => {
  consoleDir = await mkdtemp(join(tmpdir(), 'cyborg-console-ks-'));
  await buildConsole(consoleDir);
  ({ browser, close: closeBrowser } = await launchBrowser());
  keystone = await TestKeystone.shared();
  system = await TestSystem.start({
    name: 'console-keystone',
    hostname,
    settings: keystoneSettings(keystone, { CONSOLE_DIR: consoleDir }),
    agentSettings: { AGENT_DRIVERS: 'fake', AGENT_REPORT_INTERVAL_MS: '600000' },
  });
  profile = unique('console-ks-dp');
  const made = await call('POST', '/v2/device_profiles', 'admin', [
    { name: profile, groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required' }] },
  ]);
  expect(made.status).toBe(201);
  const created = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', 'member', {
    device_profile_name: profile,
  });
  expect(created.status).toBe(201);
  demoArq = created.body.arqs[0].uuid;
}, KEYSTONE_START_TIMEOUT_MS + BROWSER_SETUP_TIMEOUT_MS);

afterAll(async () => {
  await closeBrowser?.();
  await system?.close();
  await keystone?.stop();
  if (consoleDir) await rm(consoleDir, { recursive: true, force: true });
});

describe('the web console behind Keystone', () => {
  it('shows the sign-in form first and refuses a wrong password in words a person can act on', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    await page.goto(`${system.apiUrl}/console/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('form.signin-card', { timeout: 20_000 });
    // Nothing of the API answers this visitor yet.
    expect(await statusFromPage(page, '/v2/accelerator_requests')).toBe(401);
    await page.type('input[name=username]', 'demo-member');
    await page.type('input[name=password]', 'not-the-password');
    await page.type('input[name=project_name]', 'demo');
    await page.click('button[type=submit]');
    const failure = await waitForText(page, '.failure', 'Keystone did not accept user demo-member');
    expect(failure).toContain('check the name, password and project');
    expect((await page.cookies()).map((c) => c.name)).not.toContain('cyborg_console_token');
    await context.close();
  });

  it("signs a member of project demo in and shows that project's ARQ and its history", async () => {
    const { context, page } = await signIn('demo-member', 'demo');
    expect(await textOf(page, '[data-testid=identity]')).toContain('member');
    expect(await textOf(page, 'nav')).not.toContain('Hosts');
    const arqs = await waitForText(page, '[data-testid=arqs]', demoArq.slice(0, 8));
    expect(arqs).toContain('Initial');
    // The token lives in an HttpOnly cookie: the page's script cannot read it.
    const token = (await page.cookies()).find((c) => c.name === 'cyborg_console_token')!;
    expect(token).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('cyborg_console_token');

    await page.goto(`${system.apiUrl}/console/#/arqs/${demoArq}`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('.timeline-entry', { timeout: 20_000 });
    const entries = await page.$$eval('.timeline-entry .timeline-type', (e) =>
      e.map((x) => (x as HTMLElement).innerText),
    );
    expect(entries).toEqual(['ArqCreated']);
    // Who, as the token said: the member's user id in project demo.
    expect(await textOf(page, '.timeline')).toContain(
      `${keystone.personas.member.userId}@${keystone.projects.demo.id}`,
    );
    await context.close();
  });

  it('shows a member of project other none of it', async () => {
    const { context, page } = await signIn('other-member', 'other');
    await waitForText(page, '.content', 'No accelerator requests you can see');
    await page.goto(`${system.apiUrl}/console/#/arqs/${demoArq}`, { waitUntil: 'domcontentloaded' });
    await waitForText(page, '.content', '404');
    await page.goto(`${system.apiUrl}/console/#/hosts`, { waitUntil: 'domcontentloaded' });
    await waitForText(page, '.failure', '403');
    await context.close();
  });

  it('signs the cloud admin in: the status page draws bind throughput and latency from the metrics', async () => {
    const { context, page } = await signIn('admin', 'admin');
    await page.goto(`${system.apiUrl}/console/#/status`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('[data-testid=bind-metrics]', { timeout: 20_000 });
    const samples = () => page.$eval('[data-testid=bind-metrics]', (e) => Number(e.getAttribute('data-samples')));
    const before = await samples();
    // Nova's bind: the member's token and Nova's service token.
    const rp = await eventually(async () => {
      const { body } = await call<{ deployables: { rp_uuid: string }[] }>(
        'GET',
        `/v2/deployables?filters.field=name&filters.value=${hostname}_FakeDevice`,
        'admin',
      );
      return body.deployables[0]?.rp_uuid;
    });
    for (let i = 0; i < 2; i++) {
      const made = await call<{ arqs: ArqBody[] }>('POST', '/v2/accelerator_requests', 'member', {
        device_profile_name: profile,
      });
      const arq = made.body.arqs[0].uuid;
      const bind = await http(system.apiUrl, 'PATCH', '/v2/accelerator_requests', {
        json: { [arq]: bindOps(hostname, rp, randomUUID()) },
        headers: { 'X-Auth-Token': await keystone.token('member'), 'X-Service-Token': await keystone.token('nova') },
      });
      expect(bind.status).toBe(202);
      await eventually(async () => {
        const { body } = await call<ArqBody>('GET', `/v2/accelerator_requests/${arq}`, 'member');
        return body.state === 'Bound' ? body : undefined;
      });
    }
    await page.waitForFunction(
      (n: number) => Number(document.querySelector('[data-testid=bind-metrics]')?.getAttribute('data-samples')) > n,
      { timeout: 30_000 },
      before,
    );
    await page.waitForSelector('svg[aria-label="bind rate"] rect.bar-bound', { timeout: 30_000 });
    await page.waitForSelector('svg[aria-label="bind latency"] .line-p50 :is(polyline, circle)', { timeout: 30_000 });
    expect(await textOf(page, '[data-testid=bind-metrics]')).toMatch(/p50\s+\d+(\.\d+)? ms/i);
    await context.close();

    // A project member signed in gets none of it.
    const member = await signIn('demo-member', 'demo');
    expect(await statusFromPage(member.page, '/v2/bind_metrics')).toBe(403);
    await member.page.goto(`${system.apiUrl}/console/#/status`, { waitUntil: 'domcontentloaded' });
    await member.page.waitForFunction(
      () => [...document.querySelectorAll('.failure')].some((f) => f.textContent?.includes('cyborg:bind_metrics:get')),
      { timeout: 20_000 },
    );
    expect(await member.page.$$('svg.chart')).toHaveLength(0);
    await member.context.close();
  });

  it('signs out: the form comes back, the API answers 401 to the page, and the old token is refused at once', async () => {
    const { context, page } = await signIn('demo-member', 'demo');
    await waitForText(page, '[data-testid=arqs]', demoArq.slice(0, 8));
    expect(await statusFromPage(page, '/v2/accelerator_requests')).toBe(200);
    const token = decodeURIComponent((await page.cookies()).find((c) => c.name === 'cyborg_console_token')!.value);

    await page.click('[data-testid=identity] button');
    await page.waitForSelector('form.signin-card', { timeout: 20_000 });
    expect((await page.cookies()).map((c) => c.name)).not.toContain('cyborg_console_token');
    expect(await statusFromPage(page, '/v2/accelerator_requests')).toBe(401);
    // Revoked in Keystone and dropped from the API's token cache: a copy of the cookie is worth nothing.
    // (TOKEN_CACHE_TTL_SECONDS keeps its default of 60: only forgetting the token refuses it now.)
    const reused = await http(system.apiUrl, 'GET', '/v2/accelerator_requests', { headers: { 'X-Auth-Token': token } });
    expect(reused.status).toBe(401);
    await context.close();
  });
});
