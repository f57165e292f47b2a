import { randomUUID } from 'node:crypto';
import { loadSettings, type RunningService } from '@cyborg/config';
import { EventStore } from '@cyborg/event-store';
import { startApi } from '../../apps/api/src/start';
import { startConductor } from '../../apps/conductor/src/start';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { quietLogger } from '../support/logger';
import { TestNatsServer } from '../support/nats-server';

/**
 * An Idempotency-Key belongs to the caller's project: the same key from
 * another project is another command, which never answers with the first
 * project's ARQs. Over real HTTP, NATS, conductor and PostgreSQL.
 */
let db: TestDatabase;
let nats: TestNatsServer;
let api: string;
const services: RunningService[] = [];
const profile = `idem-${randomUUID().slice(0, 8)}`;
const memberOf = (project: string) => ({
  'X-User-Id': `u-${project}`,
  'X-Project-Id': project,
  'X-Roles': 'member,reader',
});

beforeAll(async () => {
  db = await createTestDatabase();
  nats = await TestNatsServer.start();
  const settings = loadSettings({ DATABASE_URL: db.url, NATS_URL: nats.url, API_PORT: '0' });
  services.push(await startConductor(settings, quietLogger));
  const running = await startApi(settings, quietLogger);
  services.push(running);
  api = running.url;
  const made = await fetch(`${api}/v2/device_profiles`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify([{ name: profile, groups: [{ 'resources:FPGA': '1' }] }]),
  });
  expect(made.status).toBe(201);
});
afterAll(async () => {
  for (const s of services.reverse()) await s.close();
  await nats?.destroy();
  await db?.drop();
});

async function createArq(headers: Record<string, string>, key: string): Promise<{ status: number; uuids: string[] }> {
  const response = await fetch(`${api}/v2/accelerator_requests`, {
    method: 'POST',
    headers: { ...headers, 'Idempotency-Key': key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ device_profile_name: profile }),
  });
  const body = (await response.json()) as { arqs?: { uuid: string }[] };
  return { status: response.status, uuids: (body.arqs ?? []).map((arq) => arq.uuid) };
}

it("answers a project's retry with its own ARQ, and another project's same key with a new one", async () => {
  const key = randomUUID();
  const first = await createArq(memberOf('project-a'), key);
  expect(first).toEqual({ status: 201, uuids: [expect.any(String)] });
  expect(await createArq(memberOf('project-a'), key)).toEqual(first);

  const theirs = await createArq(memberOf('project-b'), key);
  expect(theirs.status).toBe(201);
  expect(theirs.uuids).toHaveLength(1);
  expect(theirs.uuids).not.toEqual(first.uuids);
  expect(await createArq(memberOf('project-b'), key)).toEqual(theirs);
  // Another user of the first project retrying is the same command.
  expect(await createArq({ ...memberOf('project-a'), 'X-User-Id': 'colleague' }, key)).toEqual(first);

  const seenBy = async (project: string, uuid: string) =>
    (await fetch(`${api}/v2/accelerator_requests/${uuid}`, { headers: memberOf(project) })).status;
  expect(await seenBy('project-b', first.uuids[0])).toBe(404);
  expect(await seenBy('project-a', theirs.uuids[0])).toBe(404);
  expect(await seenBy('project-b', theirs.uuids[0])).toBe(200);

  // Two commands in the log, one ARQ each, each recorded with its own project.
  const store = new EventStore(db.dataSource);
  const created = [];
  for (const uuid of [first.uuids[0], theirs.uuids[0]]) created.push(...(await store.readStream(`arq-${uuid}`)));
  expect(created.map((e) => [e.type, e.metadata.projectId])).toEqual([
    ['ArqCreated', 'project-a'],
    ['ArqCreated', 'project-b'],
  ]);
  expect(created[0].metadata.commandId).not.toBe(created[1].metadata.commandId);
  const commands: { count: string }[] = await db.dataSource.query(
    `SELECT count(*) FROM commands WHERE command_id = ANY($1::text[])`,
    [created.map((e) => e.metadata.commandId)],
  );
  expect(Number(commands[0].count)).toBe(2);
});

it('refuses a key that is empty or too long, naming the header', async () => {
  for (const key of [' ', 'k'.repeat(256)]) {
    const response = await fetch(`${api}/v2/accelerator_requests`, {
      method: 'POST',
      headers: { ...memberOf('project-a'), 'Idempotency-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify({ device_profile_name: profile }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Idempotency-Key must be 1 to 255 characters long');
  }
});
