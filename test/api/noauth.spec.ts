import { networkInterfaces } from 'node:os';
import type { LoggerService } from '@nestjs/common';
import { loadSettings } from '@cyborg/config';
import { type RunningApi, startApi } from '../../apps/api/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestNatsServer } from '../support/nats-server';

/**
 * noauth believes the identity headers, so it listens on loopback unless
 * API_HOST says otherwise, and says at start what that means: loudly when it
 * listens anywhere else.
 */
let db: TestDatabase;
let nats: TestNatsServer;

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
});
afterAll(async () => {
  await nats?.destroy();
  await db?.drop();
});

/** A logger that keeps the warnings it is given. */
function recordingLogger(): LoggerService & { warnings: string[] } {
  const warnings: string[] = [];
  const text = (message: unknown) => (typeof message === 'string' ? message : JSON.stringify(message));
  return {
    warnings,
    log: () => undefined,
    error: () => undefined,
    warn: (message: unknown) => void warnings.push(text(message)),
  };
}

async function start(env: Record<string, string>): Promise<{ api: RunningApi; warnings: string[] }> {
  const logger = recordingLogger();
  const settings = loadSettings({ DATABASE_URL: db.url, NATS_URL: nats.url, API_PORT: '0', ...env });
  const api = await startApi(settings, logger);
  // The warnings about identity; others (an unbuilt console, say) are not this file's business.
  return { api, warnings: logger.warnings.filter((w) => /noauth/i.test(w)) };
}

/** This machine's addresses other than loopback, where a loopback-bound server must not answer. */
const otherAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);

it('listens on 127.0.0.1 with the default settings, and says what noauth means', async () => {
  const { api, warnings } = await start({});
  try {
    expect(api.address.host).toBe('127.0.0.1');
    expect(api.url).toBe(`http://127.0.0.1:${api.address.port}`);
    expect((await fetch(`${api.url}/`)).status).toBe(200);
    for (const address of otherAddresses()) {
      await expect(fetch(`http://${address}:${api.address.port}/`)).rejects.toThrow();
    }
    expect(warnings).toEqual([
      expect.stringMatching(/AUTH_STRATEGY=noauth: no token is checked.*anyone on this machine is admin/),
    ]);
  } finally {
    await api.close();
  }
});

it('listens everywhere only when API_HOST says so, and warns loudly', async () => {
  const { api, warnings } = await start({ API_HOST: '0.0.0.0' });
  try {
    expect(api.address.host).toBe('0.0.0.0');
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `NOAUTH API ON A NON-LOOPBACK ADDRESS \\(0\\.0\\.0\\.0\\): ANYONE WHO CAN REACH PORT ${api.address.port} IS ADMIN`,
        ),
      ),
    ]);
    expect((await fetch(`http://127.0.0.1:${api.address.port}/`)).status).toBe(200);
  } finally {
    await api.close();
  }
});

it('treats a request without identity headers as the cloud admin with a service token, on a project-scoped token', async () => {
  const { api } = await start({});
  try {
    // Devices are for managers and the admin; a system-scoped token is refused them.
    expect((await fetch(`${api.url}/v2/devices`)).status).toBe(200);
    expect((await fetch(`${api.url}/v2/placement_sync`)).status).toBe(200);
    const system = await fetch(`${api.url}/v2/devices`, {
      headers: { 'X-Roles': 'admin', 'OpenStack-System-Scope': 'all' },
    });
    expect(system.status).toBe(403);
    expect(await system.text()).toContain('Access was denied to the following resource: cyborg:device:get_all');
  } finally {
    await api.close();
  }
});

it('shows /healthz detail (errors, projections) only to the admin; anyone else sees up or down', async () => {
  const { api } = await start({});
  try {
    const member = await fetch(`${api.url}/healthz`, {
      headers: { 'X-User-Id': 'u', 'X-Project-Id': 'p', 'X-Roles': 'member,reader' },
    });
    expect(await member.json()).toEqual({
      status: 'ok',
      checks: { postgres: { ok: true }, nats: { ok: true }, projections: { ok: true } },
    });
    const operator = (await (await fetch(`${api.url}/healthz`)).json()) as {
      checks: { postgres: { latency_ms: number } };
      projections: { name: string; last_error: string | null }[];
    };
    expect(operator.checks.postgres.latency_ms).toEqual(expect.any(Number));
    expect(operator.projections[0]).toEqual(expect.objectContaining({ last_error: null }));
  } finally {
    await api.close();
  }
});
