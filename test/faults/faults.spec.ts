import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { agentSubject, AgentWork } from '@cyborg/contracts';
import { connectNats } from '@cyborg/messaging';
import { bindRates } from '../../apps/console/src/bind-metrics';
import type { BindMetricsSample } from '../../apps/console/src/types';
import { ArqLoad, fakeFpgaLoad } from './support/arq-load';
import { BIND_TIMEOUT_MS, DATABASE, FaultSystem, HOSTS } from './support/fault-system';
import { checkInvariants, eventually, type InvariantReport, placementOfHost, secretLeaks } from './support/invariants';

/**
 * Faults on purpose, against the services as separate processes under a
 * steady load of ARQ lifecycles on two simulated hosts: each scenario
 * breaks something while binds run, lets the system recover by itself,
 * then checks every invariant of the log, the read models, JetStream,
 * the hosts' attach handles and Nova. Runs with `npm run test:faults`.
 */
let system: FaultSystem;
let load: ArqLoad;
/** Figures for the run's summary. */
const figures: Record<string, unknown> = {};

const SETTLE_MS = BIND_TIMEOUT_MS * 3 + 30_000;

interface Health {
  status: number;
  body: { status: string; checks: Record<string, { ok: boolean; error?: string }> };
}

async function health(): Promise<Health> {
  const response = await fetch(`${system.apiUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: (await response.json()) as Health['body'] };
}

/** Waits until /healthz says what `probe` looks for. */
function healthShows(what: string, probe: (h: Health) => boolean, timeoutMs = 20_000): Promise<Health> {
  return eventually(
    `/healthz shows ${what}`,
    async () => {
      const h = await health();
      return probe(h) ? h : undefined;
    },
    timeoutMs,
  );
}

const healthy = () =>
  healthShows('everything up', (h) => h.status === 200 && h.body.checks.postgres.ok && h.body.checks.nats.ok, 60_000);

/** Lets the load run until `n` more lifecycles ended. */
async function whileLoaded(n: number): Promise<void> {
  await load.completed(load.done.length, n);
}

/** Stops the load, waits for the system to settle, and expects every invariant to hold. */
async function expectInvariants(scenario: string): Promise<InvariantReport> {
  await load.stop();
  expect(load.problems).toEqual([]);
  const report = await checkInvariants(system, SETTLE_MS);
  const broken = Object.fromEntries(Object.entries(report.violations).filter(([, list]) => list.length > 0));
  figures[scenario] = {
    lifecycles: load.done.length,
    retriedRequests: load.done.reduce((n, l) => n + l.retries, 0),
    staleReads: load.staleReads,
    events: report.events,
    endedBinds: report.endedBinds,
    jetStreamInLogOrder: report.jetStreamInLogOrder,
    anchors: report.anchors,
  };
  expect(broken).toEqual({});
  return report;
}

/** `GET /v2/bind_metrics` of the first API. */
async function bindMetrics(): Promise<BindMetricsSample> {
  const answer = await fetch(`${system.apiUrl}/v2/bind_metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(answer.status).toBe(200);
  return (await answer.json()) as BindMetricsSample;
}

interface BindCheckpoint {
  sample: BindMetricsSample;
  /** ArqBound events in the log. */
  bound: number;
}

/** With the load stopped: the bind metrics and the log's Bound count, once neither moves between two reads. */
function bindCheckpoint(): Promise<BindCheckpoint> {
  const read = async (): Promise<BindCheckpoint> => {
    const rows: { n: number }[] = await system.db.query(
      `SELECT count(*)::int AS n FROM events WHERE type = 'ArqBound'`,
    );
    return { sample: await bindMetrics(), bound: rows[0].n };
  };
  const shape = (c: BindCheckpoint) => JSON.stringify([c.bound, c.sample.sources.map((s) => [s.ok, s.binds])]);
  return eventually(
    'bind metrics and the log at rest',
    async () => {
      const first = await read();
      await new Promise((r) => setTimeout(r, 500));
      const second = await read();
      return shape(first) === shape(second) ? second : undefined;
    },
    30_000,
  );
}

/** Bound binds between two checkpoints by the console's arithmetic: per source, then added. */
function boundBetween(from: BindCheckpoint, to: BindCheckpoint): number {
  return Math.round(bindRates([from.sample, to.sample]).reduce((n, r) => n + r.bound * r.seconds, 0));
}

beforeAll(async () => {
  system = await FaultSystem.start({ spareConductors: 1 });
  ({ load } = await fakeFpgaLoad(system, 'faults-fpga', HOSTS));
}, 300_000);

afterAll(async () => {
  await load?.stop();
  if (system) {
    console.log(`fault run figures: ${JSON.stringify(figures, null, 1)}\nservice logs: ${system.logs.file}`);
    await system.close();
  }
});

it('holds every invariant under load with nothing broken', async () => {
  load.start();
  await whileLoaded(20);
  const report = await expectInvariants('baseline');
  expect(report.endedBinds).toBeGreaterThanOrEqual(20);
  expect((await health()).status).toBe(200);
  // The binds the conductor process recorded reach the console through the API, which has none of its own.
  const sample = await bindMetrics();
  const [conductor, spare] = system.conductorMetricsUrls;
  // The spare conductor, listed but not started yet, is named as not answering.
  expect(sample.sources.map((s) => [s.source, s.ok])).toEqual([
    ['api', true],
    [conductor, true],
    [spare, false],
  ]);
  expect(sample.binds.reduce((n, b) => n + b.count, 0)).toBeGreaterThanOrEqual(20);
  expect(sample.duration.outcomes.find((o) => o.outcome === 'bound')?.count).toBeGreaterThan(0);
});

it('survives kill -9 of the conductor in the middle of binds, with Nova failing meanwhile', async () => {
  load.start();
  await whileLoaded(10);
  // Nova fails for a while: notifications are being retried when the conductor dies.
  system.nova.answer({ status: 503 }, { status: 503 }, { status: 503 });
  await eventually(
    'binds in flight',
    async () => {
      const rows: { n: number }[] = await system.db.query(
        `SELECT count(*)::int AS n FROM arqs WHERE state IN ('Initial', 'BindStarted')`,
      );
      return rows[0].n > 0 ? true : undefined;
    },
    10_000,
    10,
  );
  await system.service('conductor').kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1500));
  await system.startService('conductor');
  await whileLoaded(10);
  await expectInvariants('conductor killed');
});

it('survives kill -9 of placement-sync in the middle of a sync, and Placement ends equal to the reports', async () => {
  load.start();
  // The first host loses two FPGA VFs: its next report drives Placement writes.
  const file = system.hostFile(HOSTS[0]);
  writeFileSync(file, readFileSync(file, 'utf8').replace('count: 4', 'count: 2'));
  const calls = system.logs.lines.length;
  const nc = await connectNats(system.nats.url('conductor'), 'faults-report-now');
  await nc.request(agentSubject(HOSTS[0], AgentWork.reportNow), JSON.stringify({}), { timeout: 10_000 });
  await nc.close();
  // The report is recorded; kill placement-sync while it has that host's events in hand.
  await system.logs.waitFor(HOSTS[0], /inventory reported/, calls, 10_000);
  await system.service('placement-sync').kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  await system.startService('placement-sync');
  await whileLoaded(10);
  await expectInvariants('placement-sync killed');

  for (const host of HOSTS) {
    await eventually(
      `Placement holds the providers of ${host}`,
      async () => {
        const { synced, wanted, held } = await placementOfHost(system, host);
        return synced && JSON.stringify(held) === JSON.stringify(wanted) ? true : undefined;
      },
      60_000,
      500,
    );
  }
  expect(
    (await system.db.query(`SELECT count(*)::int AS n FROM deployables WHERE hostname = $1`, [HOSTS[0]]))[0].n,
  ).toBeLessThan(
    (await system.db.query(`SELECT count(*)::int AS n FROM deployables WHERE hostname = $1`, [HOSTS[1]]))[0].n,
  );
});

it('survives a NATS restart: /healthz says NATS is down meanwhile, every service reconnects by itself', async () => {
  load.start();
  await whileLoaded(10);
  await system.nats.stop();
  const down = await healthShows('NATS down', (h) => h.status === 503 && !h.body.checks.nats.ok);
  expect(down.body.checks.postgres.ok).toBe(true);
  expect(down.body.status).toBe('degraded');
  await new Promise((r) => setTimeout(r, 3000));
  await system.nats.resume();
  await healthy();
  await whileLoaded(20);
  await expectInvariants('NATS restarted');
});

it("survives pg_terminate_backend on every service's sessions, again and again", async () => {
  load.start();
  await whileLoaded(10);
  let terminated = 0;
  for (let round = 0; round < 4; round++) {
    terminated += await system.pg.terminateSessions(DATABASE);
    await new Promise((r) => setTimeout(r, 1500));
  }
  expect(terminated).toBeGreaterThan(10);
  figures.sessionsTerminated = terminated;
  await whileLoaded(20);
  await expectInvariants('sessions terminated');
});

it('survives a PostgreSQL restart: /healthz says PostgreSQL is down meanwhile, every service reconnects by itself', async () => {
  load.start();
  await whileLoaded(10);
  await system.pg.stop('immediate');
  const down = await healthShows('PostgreSQL down', (h) => h.status === 503 && !h.body.checks.postgres.ok);
  expect(down.body.checks.nats.ok).toBe(true);
  await new Promise((r) => setTimeout(r, 3000));
  await system.pg.resume();
  await healthy();
  await whileLoaded(20);
  await expectInvariants('PostgreSQL restarted');
});

it('runs two conductors at once, sharing binds, one of them killed mid-bind', async () => {
  await system.addConductor('conductor-2');
  const [first, second] = system.conductorMetricsUrls;
  const start = await bindCheckpoint();
  load.start();
  await whileLoaded(15);
  await load.stop();
  // Both counting: the metrics' Bound, per conductor then added, is the log's.
  const bothUp = await bindCheckpoint();
  expect(boundBetween(start, bothUp)).toBe(bothUp.bound - start.bound);
  for (const url of [first, second]) {
    expect(
      boundBetween(start, {
        ...bothUp,
        sample: { ...bothUp.sample, sources: bothUp.sample.sources.filter((s) => s.source === url) },
      }),
    ).toBeGreaterThan(0);
  }

  load.start();
  await whileLoaded(5);
  await system.service('conductor').kill('SIGKILL');
  // Its counts went with it: the endpoint names it, and the sums are the other sources'.
  const killed = (await bindMetrics()).sources.find((s) => s.source === first);
  expect(killed).toEqual({ source: first, ok: false, error: expect.stringMatching(/fetch failed|ECONNREFUSED/) });
  await whileLoaded(10);
  await load.stop();
  const oneDown = await bindCheckpoint();
  const counted = boundBetween(bothUp, oneDown);
  expect(counted).toBeGreaterThan(0);
  // The binds the killed one ended since the last checkpoint are in the log only.
  expect(counted).toBeLessThanOrEqual(oneDown.bound - bothUp.bound);

  // prom-client keeps start times in whole seconds: a restart within one of the checkpoint could read as older.
  await new Promise((r) => setTimeout(r, 1500));
  await system.startService('conductor');
  load.start();
  await whileLoaded(20);
  await expectInvariants('two conductors');
  // The restarted conductor counts from zero, and all of it is growth since the checkpoint.
  const end = await bindCheckpoint();
  expect(end.sample.sources.every((s) => s.ok)).toBe(true);
  expect(boundBetween(oneDown, end)).toBe(end.bound - oneDown.bound);
  figures['two conductors, bind metrics'] = {
    bothUp: bothUp.bound - start.bound,
    oneDown: [counted, oneDown.bound - bothUp.bound],
    restarted: end.bound - oneDown.bound,
  };
  // Both took requests from the queue group.
  for (const name of ['conductor', 'conductor-2']) {
    expect(system.logs.of(name).length).toBeGreaterThan(0);
  }
});

it('survives kill -9 of an agent in the middle of programming an FPGA for a bind', async () => {
  const host = HOSTS[1];
  const image = system.glance.add({ functionId: 'faults-1.0' });
  const profile = 'faults-bitstream';
  const json = { 'Content-Type': 'application/json' };
  const created = await fetch(`${system.apiUrl}/v2/device_profiles`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify([{ name: profile, groups: [{ 'resources:FPGA': '1', 'accel:bitstream_id': image.id }] }]),
  });
  expect(created.status).toBe(201);
  const arq = (
    (await (
      await fetch(`${system.apiUrl}/v2/accelerator_requests`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ device_profile_name: profile }),
      })
    ).json()) as { arqs: { uuid: string }[] }
  ).arqs[0].uuid;
  const vf = `${host}_0000:5e:00.1`;
  const rp = await eventually(
    `deployable ${vf}`,
    async () => {
      const answer = await fetch(`${system.apiUrl}/v2/deployables?filters.field=name&filters.value=${vf}`);
      return ((await answer.json()) as { deployables: { rp_uuid: string }[] }).deployables[0]?.rp_uuid;
    },
    10_000,
  );

  load.start();
  await whileLoaded(10);
  // Programming the FPGA hangs: the agent is in the middle of it when it dies.
  const file = system.hostFile(host);
  const healthy = readFileSync(file, 'utf8');
  writeFileSync(file, healthy.replace(/^ {2}devices: \{\}$/m, '  devices:\n    fpga0: { program: hang }'));
  const instance = randomUUID();
  const bind = await fetch(`${system.apiUrl}/v2/accelerator_requests`, {
    method: 'PATCH',
    headers: json,
    body: JSON.stringify({
      [arq]: [
        { path: '/hostname', op: 'add', value: host },
        { path: '/device_rp_uuid', op: 'add', value: rp },
        { path: '/instance_uuid', op: 'add', value: instance },
      ],
    }),
  });
  expect(bind.status).toBe(202);
  const stateOf = async () =>
    ((await (await fetch(`${system.apiUrl}/v2/accelerator_requests/${arq}`)).json()) as { state: string }).state;
  expect(await stateOf()).toBe('BindStarted');
  await new Promise((r) => setTimeout(r, 500));
  await system.service(host).kill('SIGKILL');
  writeFileSync(file, healthy);
  await system.startService(host);
  const ended = await eventually(
    'the interrupted bind ended',
    async () => {
      const state = await stateOf();
      return state === 'Bound' || state === 'BindFailed' ? state : undefined;
    },
    BIND_TIMEOUT_MS * 3,
  );
  // The conductor asks again while unanswered: the agent, back well before the deadline, programs and binds.
  expect(ended).toBe('Bound');
  await whileLoaded(10);
  await expectInvariants('agent killed mid-programming');
  expect(system.nova.eventsFor(arq).map((e) => e.status)).toContain('completed');
  const programmed: { n: number }[] = await system.db.query(
    `SELECT count(*)::int AS n FROM events WHERE stream_id = $1 AND type = 'DeployableProgrammed'
       AND data->>'bitstreamId' = $2`,
    [`host-${host}`, image.id],
  );
  expect(programmed[0].n).toBe(1);
});

it("keeps every service inside its NATS user's permissions (deploy/nats/nats-server.conf)", () => {
  const violations = system.logs.lines.filter((l) => /Permissions Violation/i.test(l.line));
  expect(violations.map((l) => `${l.service}: ${l.line.slice(0, 300)}`)).toEqual([]);
});

it('never writes a secret to any log: database password, NATS passwords, Nova token, anchor signing key', () => {
  const lines = system.logs.lines;
  // The faults above made the services log connection failures, retries and their settings' URLs.
  expect(lines.length).toBeGreaterThan(100);
  expect(lines.some((l) => /"level":"(warn|error)"/.test(l.line))).toBe(true);
  expect(secretLeaks(system)).toEqual([]);
});
