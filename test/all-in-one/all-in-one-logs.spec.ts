import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, loadSettings, type RunningService } from '@cyborg/config';
import { startAllInOne } from '../../apps/all-in-one/start';
import { eventually } from '../arqs/support';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestNatsServer } from '../support/nats-server';

/**
 * `npm start`'s one process (conductor, API, placement-sync and an agent)
 * over real PostgreSQL and NATS: every line says which service wrote it,
 * the lines of Nest's shared component loggers too, as separate processes do.
 */
interface Line {
  service?: string;
  context?: string;
  msg?: string;
  processor?: string;
}

const lines: Line[] = [];
const destination = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
    done();
  },
});

let db: TestDatabase;
let nats: TestNatsServer;
let dir: string;
let services: RunningService[] = [];
const hostname = `all-in-one-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  dir = await mkdtemp(join(tmpdir(), 'cyborg-all-in-one-'));
  const hostFile = join(dir, `${hostname}.yaml`);
  await writeFile(hostFile, await readFile(new URL('../../deploy/simulated-host.yaml', import.meta.url), 'utf8'));
  const settings = loadSettings({
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    PROJECTION_POLL_MS: '50',
    AGENT_HOSTNAME: hostname,
    AGENT_DRIVERS: 'fake,simulated',
    AGENT_SIMULATED_HOST_FILE: hostFile,
    AGENT_REPORT_INTERVAL_MS: '1000',
    LOG_LEVEL: 'log',
    LOG_FORMAT: 'json',
  });
  services = await startAllInOne(settings, createLogger('cyborg', settings, { destination }));
}, 120_000);

afterAll(async () => {
  for (const service of services.reverse()) await service.close();
  await nats?.destroy();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("writes each component's lines as the service whose work they are, never as the process", async () => {
  const started = lines.length;
  // The agent reports again after start: its lines, and the conductor's answer, come from work begun before.
  await eventually(async () => lines.slice(started).find((l) => l.msg === 'inventory reported'), 60_000);
  const components = lines.filter((l) => l.context !== undefined || l.processor !== undefined);
  expect(components.length).toBeGreaterThan(0);
  expect(components.filter((l) => !['conductor', 'api', 'agent', 'placement-sync'].includes(l.service ?? ''))).toEqual(
    [],
  );
  for (const line of lines.filter((l) => l.msg === 'inventory reported')) expect(line.service).toBe('agent');
  // Each service's components, also while another app of the process was starting and held Nest's logger.
  const active = lines.filter((l) => l.msg === 'processor active');
  expect(active.find((l) => l.processor === 'relay:jetstream')?.service).toBe('conductor');
  expect(active.find((l) => l.processor === 'projection:arqs')?.service).toBe('api');
  expect(lines.find((l) => l.msg === 'inventory changed')?.service).toBe('conductor');
  expect(lines.find((l) => /Placement sync is off/.test(l.msg ?? ''))?.service).toBe('placement-sync');
});
