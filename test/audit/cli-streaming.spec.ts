import { randomUUID } from 'node:crypto';
import type { CyborgEvent } from '@cyborg/contracts';
import { eventSchemas } from '@cyborg/contracts';
import { EventStore, EventTypeRegistry } from '@cyborg/event-store';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { Cli } from './cli';

/**
 * The CLI over a large log: `verify` says how far it got, `events` streams
 * page by page at the pace of its reader.
 */
const STREAMS = 2000;
const EVENTS_PER_STREAM = 3;
let db: TestDatabase;
let cli: Cli;
let store: EventStore<CyborgEvent>;

/** A host registration with a few hundred bytes of drivers, so the log is megabytes. */
const registration = (hostname: string, n: number): CyborgEvent => ({
  type: 'HostRegistered',
  data: { hostname, drivers: Array.from({ length: 20 }, (_, i) => `driver-${n}-${i}`), agentVersion: `0.${n}` },
});

beforeAll(async () => {
  db = await createTestDatabase();
  store = new EventStore(db.dataSource, EventTypeRegistry.from(eventSchemas));
  for (let batch = 0; batch < STREAMS; batch += 200) {
    const requests = Array.from({ length: 200 }, (_, i) => {
      const hostname = `gen-${batch + i}`;
      return {
        streamId: `host-${hostname}`,
        expectedVersion: 0,
        events: Array.from({ length: EVENTS_PER_STREAM }, (_, n) => registration(hostname, n)),
      };
    });
    await store.append(requests, { userId: 'generator', projectId: null });
  }
  cli = await Cli.build({ DATABASE_URL: db.url });
}, 120_000);

afterAll(async () => {
  await cli?.remove();
  await db?.drop();
});

it('verify prints plain progress lines on stderr when piped, and the result on stdout', async () => {
  const result = await cli.run(['verify', '--log-only', '--batch-size', '500']);
  expect(result.code).toBe(0);
  const total = STREAMS * EVENTS_PER_STREAM;
  expect(result.stdout).toBe(`${total} events in ${STREAMS} streams checked\nevery hash chain verifies\n`);
  const lines = result.stderr.trim().split('\n');
  // A pipe gets whole lines, never a terminal's carriage returns or escapes.
  expect(result.stderr).not.toMatch(/[\r\x1b]/);
  expect(lines.length).toBeGreaterThanOrEqual(5);
  for (const line of lines) expect(line).toMatch(/^verifying events: \d+ of \d+ \(\d+%\)$/);
  expect(lines[lines.length - 1]).toBe(`verifying events: ${total} of ${total} (100%)`);
  const done = lines.map((l) => Number(/: (\d+) of/.exec(l)![1]));
  expect([...done].sort((a, b) => a - b)).toEqual(done);

  const quiet = await cli.run(['verify', '--log-only', '--quiet']);
  expect(quiet.stderr).toBe('');
});

/**
 * Reads the command's first chunk, then holds the pipe shut while an event
 * is appended at the end of the log. A command that read the log before
 * writing could not print that event; one that waits for its reader (and so
 * has read only its first pages) prints it last.
 */
async function streamWithAppendMidway(args: string[]): Promise<{ text: string; marker: string }> {
  const child = cli.start(args);
  const chunks: Buffer[] = [];
  const marker = `late-${randomUUID()}`;
  await new Promise<void>((resolve) => {
    child.stdout.once('data', (chunk: Buffer) => {
      chunks.push(chunk);
      child.stdout.pause();
      resolve();
    });
  });
  await store.append([{ streamId: `host-${marker}`, expectedVersion: 0, events: [registration(marker, 0)] }]);
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await new Promise<number | null>((resolve) => {
    child.on('close', (c) => resolve(c));
    child.stdout.resume();
  });
  expect(code).toBe(0);
  return { text: Buffer.concat(chunks).toString(), marker };
}

it('events --ndjson streams: what is appended while its reader waits is still printed', async () => {
  const { text, marker } = await streamWithAppendMidway(['events', '--ndjson']);
  const lines = text.trim().split('\n');
  expect(lines.length).toBeGreaterThanOrEqual(STREAMS * EVENTS_PER_STREAM + 1);
  const last = JSON.parse(lines[lines.length - 1]) as { stream_id: string };
  expect(last.stream_id).toBe(`host-${marker}`);
});

it('events --json streams one valid document', async () => {
  const { text, marker } = await streamWithAppendMidway(['events', '--json']);
  const document = JSON.parse(text) as { events: { stream_id: string; position: number }[] };
  expect(document.events.length).toBeGreaterThanOrEqual(STREAMS * EVENTS_PER_STREAM + 1);
  expect(document.events[document.events.length - 1].stream_id).toBe(`host-${marker}`);
  const positions = document.events.map((e) => e.position);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
});

it('events --json over nothing is an empty list', async () => {
  const result = await cli.run(['events', '--json', '--stream', 'host-none-such']);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({ events: [] });
});
