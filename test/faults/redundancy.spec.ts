import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { agentSubject, AgentWork } from '@cyborg/contracts';
import { connectNats } from '@cyborg/messaging';
import { checkpointName, readModelProjections } from '@cyborg/projections';
import { ArqLoad, type BindTarget, fakeFpgaLoad } from './support/arq-load';
import { BIND_TIMEOUT_MS, FaultSystem, HOSTS, replicaName } from './support/fault-system';
import { checkInvariants, eventually } from './support/invariants';
import type { LogLine } from './support/service-process';

/**
 * Two of everything, as separate processes: two APIs behind a round-robin
 * client that passes over one that does not answer (as a load balancer
 * would), two conductors, two placement-syncs, and an agent per host,
 * under a steady load of ARQ lifecycles. One of each is killed with -9 in
 * turn, always the one holding the single-active roles (projections; the
 * relay and Nova notifications; placement-sync). Each kill records how
 * long the survivor took to take each role over and to handle its first
 * events; at the end every invariant holds: every bind ended and Nova was
 * told, each event projected and relayed once, no bind recorded twice.
 */
let system: FaultSystem;
let load: ArqLoad;
const PROFILE = 'redundancy-fpga';
let targets: BindTarget[];
/** Figures for the run's summary. */
const figures: Record<string, unknown> = {};
/** When each service was last killed: its earlier log lines no longer say what it holds. */
const killedAt = new Map<string, number>();
const conductorKills: number[] = [];

const PROJECTIONS = readModelProjections.map((p) => checkpointName(p));
const RELAY = 'relay:jetstream';
const NOVA = 'nova-notifications';
const PLACEMENT_SYNC = 'placement-sync';
/** Every bind ends by its deadline; one its conductor left is ended by another's sweep (every BIND_TIMEOUT_MS). */
const SETTLE_MS = BIND_TIMEOUT_MS * 3 + 30_000;

interface Logged {
  msg?: string;
  processor?: string;
  arq?: string;
}

function parse(line: LogLine): Logged {
  try {
    return JSON.parse(line.line) as Logged;
  } catch {
    return {};
  }
}

/** The role a log line says its service took: a log processor, or the active placement-sync. */
function roleTaken(line: LogLine): string | null {
  const logged = parse(line);
  if (logged.msg === 'processor active' && logged.processor) return logged.processor;
  if (logged.msg === 'placement sync active') return PLACEMENT_SYNC;
  return null;
}

/** Which running service holds each single-active role now, from what each logged since its last start. */
function holders(): Map<string, string> {
  const held = new Map<string, string>();
  for (const line of system.logs.lines) {
    const role = roleTaken(line);
    if (!role || line.at < (killedAt.get(line.service) ?? 0)) continue;
    if (system.service(line.service).running) held.set(role, line.service);
  }
  return held;
}

async function handledCounts(names: readonly string[]): Promise<Map<string, number>> {
  const rows: { name: string; handled: string }[] = await system.db.query(
    `SELECT name, events_handled AS handled FROM checkpoints WHERE name = ANY($1)`,
    [names],
  );
  return new Map(rows.map((r) => [r.name, Number(r.handled)]));
}

interface Takeover {
  by: string;
  /** From the kill to the survivor logging that it took the role. */
  activeAfterMs: number;
  /** From the kill to the survivor's first stored batch of the role's events (log processors). */
  firstHandledAfterMs?: number;
}

/**
 * kill -9 of `victim`, then waits until the survivor took each of `roles`
 * (which the victim held) and, for the log processors among them, stored
 * its first batch of events.
 */
async function killAndMeasure(
  victim: string,
  roles: readonly string[],
  afterKill: () => void = () => undefined,
): Promise<Record<string, Takeover>> {
  const before = holders();
  for (const role of roles) expect([role, before.get(role)]).toEqual([role, victim]);
  const processors = roles.filter((r) => r !== PLACEMENT_SYNC);
  const from = system.logs.lines.length;
  await system.service(victim).kill('SIGKILL');
  const killed = Date.now();
  killedAt.set(victim, killed);
  afterKill();
  // The victim is gone: any count that moves from here on was moved by the survivor.
  const counts = await handledCounts(processors);
  const takeovers: Record<string, Takeover> = {};
  const firstHandled = new Map<string, number>();
  await eventually(
    `${roles.join(', ')} taken over`,
    async () => {
      const now = await handledCounts(processors);
      for (const name of processors) {
        if (!firstHandled.has(name) && (now.get(name) ?? 0) > (counts.get(name) ?? 0))
          firstHandled.set(name, Date.now());
      }
      for (const line of system.logs.lines.slice(from)) {
        const role = roleTaken(line);
        if (role && roles.includes(role) && line.service !== victim && !takeovers[role]) {
          takeovers[role] = { by: line.service, activeAfterMs: line.at - killed };
        }
      }
      // Some processors (device profiles, inventory) may see no event of theirs for a while: after 3 s, one suffices.
      const handled = firstHandled.size === processors.length || (firstHandled.size > 0 && Date.now() - killed > 3000);
      return roles.every((r) => takeovers[r]) && handled ? true : undefined;
    },
    60_000,
    25,
  );
  for (const [name, at] of firstHandled) takeovers[name].firstHandledAfterMs = at - killed;
  return takeovers;
}

/** The two processes of a replicated service. */
const pair = (app: string) => [replicaName(app, 1), replicaName(app, 2)];

/** The process of `app` holding `role` (whichever of the two took it), and the other one. */
function holderOf(role: string, app: string): { victim: string; survivor: string } {
  const victim = holders().get(role);
  if (!victim || !pair(app).includes(victim)) throw new Error(`no ${app} holds ${role} (${victim})`);
  return { victim, survivor: pair(app).find((n) => n !== victim)! };
}

/** ARQs whose bind is running now, from the log (their last event is ArqBindStarted). */
async function bindsInFlight(): Promise<string[]> {
  const rows: { stream_id: string }[] = await system.db.query(
    `SELECT s.stream_id FROM streams s JOIN events e ON e.stream_id = s.stream_id AND e.version = s.version
     WHERE s.category = 'arq' AND e.type = 'ArqBindStarted'`,
  );
  return rows.map((r) => r.stream_id.slice('arq-'.length));
}

beforeAll(async () => {
  system = await FaultSystem.start({
    replicas: 2,
    // What the README advises, so that a holder whose machine vanishes loses its locks in about 25 s.
    databaseOptions: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3',
  });
  ({ load, targets } = await fakeFpgaLoad(system, PROFILE, HOSTS));
}, 300_000);

afterAll(async () => {
  await load?.stop();
  if (system) {
    console.log(`redundancy run figures: ${JSON.stringify(figures, null, 1)}\nservice logs: ${system.logs.file}`);
    await system.close();
  }
});

it('runs two of each service: the first of each holds the single-active roles, the second stands by', async () => {
  load.start();
  await load.completed(load.done.length, 10);
  const roles: [string, string][] = [
    ...PROJECTIONS.map((p): [string, string] => [p, 'api']),
    [RELAY, 'conductor'],
    [NOVA, 'conductor'],
    [PLACEMENT_SYNC, 'placement-sync'],
  ];
  // One of the two of each holds each role (the first started, as a rule); the other stands by.
  await eventually(
    'every single-active role held',
    async () => (roles.every(([role, app]) => pair(app).includes(holders().get(role) ?? '')) ? true : undefined),
    30_000,
  );
  figures.rolesAtStart = Object.fromEntries(holders());
  const { survivor: standby } = holderOf(PLACEMENT_SYNC, 'placement-sync');
  expect(system.logs.of(standby).some((l) => parse(l).msg === 'another placement-sync is active; standing by')).toBe(
    true,
  );
  // Both APIs answer: the load goes to each in turn.
  for (const url of system.apiUrls) expect((await fetch(`${url}/healthz`)).status).toBe(200);
});

it('kill -9 of the API holding the projections: the other API answers meanwhile and takes them over', async () => {
  const { victim, survivor } = holderOf(PROJECTIONS[0], 'api');
  const held = PROJECTIONS.filter((p) => holders().get(p) === victim);
  const takeovers = await killAndMeasure(victim, held);
  for (const name of held) expect(takeovers[name].by).toBe(survivor);
  const done = load.done.length;
  await load.completed(done, 10);
  figures.apiKilled = { takeovers, failovers: load.failovers };
  await system.startService(victim);
  // Back as a standby: the projections stay where they are.
  expect(holders().get(PROJECTIONS[0])).toBe(survivor);
});

it('kill -9 of the conductor holding the relay and Nova notifications: its binds end, the other takes over', async () => {
  await load.completed(load.done.length, 5);
  const { victim, survivor } = holderOf(RELAY, 'conductor');
  const held = [RELAY, NOVA].filter((r) => holders().get(r) === victim);
  // The agents pause, so binds pile up BindStarted on both conductors; a burst of 8 more makes it likely
  // (1 - 2^-12) that some are the victim's. They go on right after the kill.
  const agents = HOSTS.map((host) => system.service(host));
  const burst = new ArqLoad(system.apiUrls, PROFILE, targets, 8);
  for (const agent of agents) agent.pause();
  let inFlight: string[] = [];
  let takeovers: Record<string, Takeover>;
  try {
    burst.start();
    inFlight = await eventually(
      'binds in flight on both conductors',
      async () => {
        const arqs = await bindsInFlight();
        return arqs.length >= 10 ? arqs : undefined;
      },
      30_000,
      50,
    );
    takeovers = await killAndMeasure(victim, held, () => agents.forEach((a) => a.resume()));
  } finally {
    for (const agent of agents) agent.resume();
  }
  const killed = killedAt.get(victim)!;
  conductorKills.push(killed);
  for (const role of held) expect(takeovers[role].by).toBe(survivor);
  // Every bind running when it died ends (Bound, or BindFailed at its deadline) and Nova hears of it.
  const ended = await eventually(
    `the ${inFlight.length} binds in flight at the kill ended and Nova heard of them`,
    async () => {
      const rows: { uuid: string; state: string }[] = await system.db.query(
        `SELECT uuid::text, state FROM arqs WHERE uuid::text = ANY($1)`,
        [inFlight],
      );
      // Ended, or gone: the load deletes an ARQ once its bind ended.
      const running = rows.filter((r) => r.state === 'BindStarted' || r.state === 'Initial');
      const told = inFlight.every((arq) => system.nova.eventsFor(arq).length > 0);
      return running.length === 0 && told ? Date.now() - killed : undefined;
    },
    SETTLE_MS,
    100,
  );
  await burst.stop();
  expect(burst.problems).toEqual([]);
  // The victim's binds: those the survivor took over.
  const takenOver = system.logs
    .of(survivor)
    .filter((l) => l.at >= killed)
    .map(parse)
    .filter((l) => /a bind (another conductor )?left/.test(l.msg ?? '') && inFlight.includes(l.arq ?? ''));
  const outcome = (arq: string) => [...load.done, ...burst.done].find((l) => l.arq === arq)?.resolved;
  await load.completed(load.done.length, 10);
  figures.conductorKilled = {
    takeovers,
    bindsInFlight: inFlight.length,
    ofTheKilledConductor: takenOver.length,
    ofTheKilledConductorBound: takenOver.filter((l) => outcome(l.arq!) === 'Bound').length,
    bindsInFlightEndedAfterMs: ended,
  };
  await system.startService(victim);
  expect(holders().get(RELAY)).toBe(survivor);
});

it('kill -9 of the active placement-sync: the other takes over and syncs a report made after the kill', async () => {
  const host = HOSTS[0];
  const providers = async () =>
    (await system.db.query(`SELECT name FROM deployables WHERE hostname = $1 AND num_accelerators > 0 ORDER BY name`, [
      host,
    ])) as { name: string }[];
  const before = (await providers()).length;
  const { victim, survivor } = holderOf(PLACEMENT_SYNC, 'placement-sync');
  const takeovers = await killAndMeasure(victim, [PLACEMENT_SYNC]);
  expect(takeovers[PLACEMENT_SYNC].by).toBe(survivor);
  const killed = killedAt.get(victim)!;
  // The host loses two FPGA VFs: only the survivor can bring Placement to it.
  const file = system.hostFile(host);
  writeFileSync(file, readFileSync(file, 'utf8').replace('count: 4', 'count: 2'));
  const nc = await connectNats(system.nats.url('conductor'), 'redundancy-report-now');
  await nc.request(agentSubject(host, AgentWork.reportNow), JSON.stringify({}), { timeout: 10_000 });
  await nc.close();
  const wanted: { name: string }[] = await eventually(
    `the read model shows ${host}'s smaller report`,
    async () => {
      const rows = await providers();
      return rows.length === before - 2 ? rows : undefined;
    },
    30_000,
  );
  const synced = await eventually(
    `Placement holds ${host}'s providers as reported`,
    async () => {
      const node = (
        await system.placement.call<{ resource_providers: { uuid: string }[] }>(
          'GET',
          `/resource_providers?name=${host}`,
        )
      ).body.resource_providers[0].uuid;
      const tree = await system.placement.call<{
        resource_providers: { name: string; parent_provider_uuid: string | null }[];
      }>('GET', `/resource_providers?in_tree=${node}`);
      const children = tree.body.resource_providers
        .filter((p) => p.parent_provider_uuid === node)
        .map((p) => p.name)
        .sort();
      const status: { state: string; synced_version: number; stream_version: number }[] = await system.db.query(
        `SELECT state, synced_version, stream_version FROM placement_sync_status WHERE hostname = $1`,
        [host],
      );
      const caughtUp = status[0]?.state === 'synced' && status[0].synced_version === status[0].stream_version;
      return caughtUp && JSON.stringify(children) === JSON.stringify(wanted.map((w) => w.name))
        ? Date.now() - killed
        : undefined;
    },
    60_000,
    200,
  );
  await load.completed(load.done.length, 10);
  figures.placementSyncKilled = { takeovers, reportSyncedAfterKillMs: synced };
  await system.startService(victim);
  expect(holders().get(PLACEMENT_SYNC)).toBe(survivor);
});

it('did nothing twice and left nothing unfinished: every invariant holds after the three kills', async () => {
  await load.stop();
  expect(load.problems).toEqual([]);
  const report = await checkInvariants(system, SETTLE_MS, { conductorKills });
  const broken = Object.fromEntries(Object.entries(report.violations).filter(([, list]) => list.length > 0));
  figures.run = {
    lifecycles: load.done.length,
    load: `${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} on ${cpus().length} cores`,
    bound: load.done.filter((l) => l.resolved === 'Bound').length,
    retriedRequests: load.done.reduce((n, l) => n + l.retries, 0),
    failovers: load.failovers,
    staleReads: load.staleReads,
    events: report.events,
    endedBinds: report.endedBinds,
    novaRepeats: report.novaRepeats,
    jetStreamInLogOrder: report.jetStreamInLogOrder,
    anchors: report.anchors,
  };
  expect(broken).toEqual({});
  expect(report.endedBinds).toBeGreaterThanOrEqual(40);
});
