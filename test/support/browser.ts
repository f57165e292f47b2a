import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser } from 'puppeteer-core';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
/** Installing chromium with apt-get the first time takes a minute or two. */
export const BROWSER_SETUP_TIMEOUT_MS = 300_000;

/** Debian's chromium, installed by scripts/install-chromium.sh when missing. */
export async function chromiumPath(): Promise<string> {
  const { stdout } = await run(join(ROOT, 'scripts/install-chromium.sh'), { timeout: BROWSER_SETUP_TIMEOUT_MS });
  return stdout.trim().split('\n').pop()!;
}

/** Builds the console bundle into a folder of its own, as `npm run build` does into dist/console. */
export async function buildConsole(outDir: string): Promise<void> {
  await run(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'apps/console/vite.config.ts'],
    {
      cwd: ROOT,
      env: { ...process.env, CONSOLE_OUT_DIR: outDir },
      timeout: 120_000,
    },
  );
}

/** A real headless Chromium with a fresh profile; `close` ends it and removes the profile. */
export async function launchBrowser(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const executablePath = await chromiumPath();
  const profile = await mkdtemp(join(tmpdir(), 'cyborg-chromium-'));
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    userDataDir: profile,
    defaultViewport: { width: 1360, height: 860 },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
