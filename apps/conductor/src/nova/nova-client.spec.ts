import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { FakeNova } from '../../../../test/support/fake-nova';
import { NovaClient } from './nova-client';

/** Cyborg's handling of Nova's answers (§10.4), against a local HTTP Nova. */
let nova: FakeNova;
const event = () => ({ serverUuid: randomUUID(), arqUuid: randomUUID(), status: 'completed' as const });
const client = () => new NovaClient({ url: nova.url, retries: 3, backoffMs: 10 });

beforeEach(async () => {
  nova = await FakeNova.start();
});
afterEach(() => nova.close());

it('sends one accelerator-request-bound event per ARQ at microversion 2.82, and takes 200', async () => {
  const events = [event(), { ...event(), status: 'failed' as const }];
  expect(await client().sendBindEvents(events)).toMatchObject({ delivered: true, status: 200 });
  expect(nova.requests).toHaveLength(1);
  expect(nova.requests[0].headers['openstack-api-version']).toBe('compute 2.82');
  expect(nova.requests[0].events).toEqual(
    events.map((e) => ({
      name: 'accelerator-request-bound',
      server_uuid: e.serverUuid,
      tag: e.arqUuid,
      status: e.status,
    })),
  );
});

it('sends again while Nova answers 5xx, with backoff, and gives up after its retries', async () => {
  nova.answer({ status: 503 }, { status: 500 });
  expect(await client().sendBindEvents([event()])).toMatchObject({ delivered: true });
  expect(nova.requests.map((r) => r.status)).toEqual([503, 500, 200]);

  nova.answer({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
  expect(await client().sendBindEvents([event()])).toMatchObject({ delivered: false, status: 503 });
  expect(nova.requests).toHaveLength(7);
});

it('takes a 207 whose events are all 422 as delivered, and any other 207 or 4xx as a final refusal', async () => {
  nova.answer({ status: 207, code: 422 });
  expect(await client().sendBindEvents([event()])).toMatchObject({ delivered: true, status: 207 });
  nova.answer({ status: 207, code: 404 });
  expect(await client().sendBindEvents([event()])).toMatchObject({
    delivered: false,
    status: 207,
    detail: 'Bad API response from Nova: event codes 404',
  });
  nova.answer({ status: 403 });
  expect(await client().sendBindEvents([event()])).toMatchObject({ delivered: false, status: 403 });
  expect(nova.requests.map((r) => r.status)).toEqual([207, 207, 403]);
});

it('retries an unreachable Nova and reports it', async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const delivery = await new NovaClient({ url: `http://127.0.0.1:${port}`, retries: 2, backoffMs: 10 }).sendBindEvents([
    event(),
  ]);
  expect(delivery).toMatchObject({
    delivered: false,
    status: null,
    detail: expect.stringMatching(/^Nova unreachable/),
  });
});
