import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { BenchContext, BenchModule } from '../support/context';
import { type BenchDatabase, createBenchDatabase } from '../support/database';
import { figure } from '../support/figure';
import { now, percentile } from '../support/timing';
import { writeGpuServerFile } from '../system/hosts';
import { sleep } from '../system/http';
import { BenchNatsServer } from '../system/nats-server';
import { OutsideCpu, procCpuMicros } from '../system/outside-cpu';
import { ServiceProcess } from '../system/service-process';
import { appMain, profileFlags } from '../system/system';
import { measureApiReads } from './api-reads';
import { Fleet } from './fleet';

/** Requests in flight at once for the floor: more than the conductor ever sees from the fleet. */
const FLOOR_CONCURRENCY = 64;
const FLOOR_SECONDS = 3;
/** Registrations in flight at once in each fleet worker. */
const REGISTER_CONCURRENCY = 16;

/**
 * A fleet of simulated hosts (bench/fleet: thousands per worker process,
 * apps/agent's messages on its timers) against one conductor, then two:
 * conductor CPU and memory, NATS messages/s (the server's /varz), PostgreSQL
 * commits and row writes per second (pg_stat_database), heartbeat latency,
 * how long a silent host takes to be marked down (beside HOST_DOWN_AFTER_MS),
 * how long a rack of new hosts takes to register, and the API's list and
 * read endpoints at that size. The floor: raw NATS request/reply on the same
 * server.
 */
export const fleetModule: BenchModule = {
  name: 'fleet.hosts',
  title: 'Fleet: simulated hosts heartbeating and reporting to one conductor, then two',
  async run(ctx) {
    const cfg = ctx.config.fleet;
    // A database of its own: the system modules' services may still be running on the run's.
    const db = await createBenchDatabase(ctx.config.adminUrl, 4);
    ctx.onCleanup(() => (ctx.config.keepDatabase ? Promise.resolve() : db.drop()));
    ctx.log(`fleet database: ${db.name}`);
    const nats = await BenchNatsServer.start({ monitor: true });
    ctx.onCleanup(() => nats.stop());
    const dir = await mkdtemp(join(tmpdir(), 'cyborg-bench-fleet-'));
    ctx.onCleanup(() => rm(dir, { recursive: true, force: true }));
    const hostFile = join(dir, `gpu-server-${cfg.devices}.yaml`);
    await writeGpuServerFile(hostFile, cfg.devices);

    const floor = await measureFloor(nats);
    ctx.log(
      `floor: ${floor.requests.toFixed(0)} raw NATS request/replies per second, ` +
        `${floor.messages.toFixed(0)} messages/s (in + out), ${FLOOR_CONCURRENCY} in flight`,
    );

    const env = {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      HOST_DOWN_AFTER_MS: String(cfg.downAfterMs),
      LOG_LEVEL: 'log',
      CONDUCTOR_METRICS_PORT: '0',
    };
    const conductors: ServiceProcess[] = [];
    const startConductor = async () => {
      const conductor = await ServiceProcess.start({
        name: `conductor-${conductors.length + 1}`,
        main: appMain('conductor'),
        env,
        readyMessage: 'conductor listening',
        execArgv: profileFlags('conductor'),
      });
      ctx.onCleanup(() => conductor.stop());
      conductors.push(conductor);
    };
    await startConductor();

    const fleet = await Fleet.start(nats.url, cfg.workers, {
      heartbeatMs: cfg.heartbeatMs,
      reportMs: cfg.reportMs,
      hostFile,
      concurrency: REGISTER_CONCURRENCY,
      timeoutMs: 30_000,
    });
    ctx.onCleanup(() => fleet.stop());
    const tag = randomBytes(2).toString('hex');
    const hostnames = Array.from({ length: cfg.hosts }, (_, i) => `fleet-${tag}-${i}`);
    const label = `${cfg.hosts} hosts × ${cfg.devices} GPU, ${cfg.workers} worker processes`;

    const cpu0 = procCpuMicros(conductors[0].pid) ?? 0;
    const t0 = now();
    await fleet.add(hostnames);
    const registrationSeconds = (now() - t0) / 1000;
    const registrationCpuMs = ((procCpuMicros(conductors[0].pid) ?? 0) - cpu0) / 1000;
    ctx.log(
      `registered ${label} in ${registrationSeconds.toFixed(1)}s ` +
        `(${(cfg.hosts / registrationSeconds).toFixed(0)} hosts/s, conductor ${(registrationCpuMs / cfg.hosts).toFixed(2)} ms/host)`,
    );
    ctx.record(
      figure({
        name: 'fleet.hosts.registration',
        value: cfg.hosts / registrationSeconds,
        unit: 'hosts/s',
        baseline: null,
        note:
          `${label}: register_host + first report_inventory, ${REGISTER_CONCURRENCY * cfg.workers} at a time, ` +
          `${registrationSeconds.toFixed(1)}s; one conductor, ${(registrationCpuMs / cfg.hosts).toFixed(2)} ms CPU per host`,
      }),
    );

    const outside = new OutsideCpu(db.pool, db.name, nats.pid);
    for (const count of [1, 2]) {
      if (conductors.length < count) await startConductor();
      await measureSteady(ctx, { db, count, conductors, fleet, nats, outside, floor, hostnames, tag, label });
    }
    // Last, so the windows' figures are the conductors' alone: the API's reads, the fleet heartbeating meanwhile.
    await measureApiReads(ctx, db, nats.url, hostnames);
  },
};

interface SteadyRun {
  db: BenchDatabase;
  count: number;
  conductors: ServiceProcess[];
  fleet: Fleet;
  nats: BenchNatsServer;
  outside: OutsideCpu;
  floor: { requests: number; messages: number };
  hostnames: string[];
  tag: string;
  label: string;
}

/** One window of the running fleet with `count` conductors: a host silenced at its start, then a rack added. */
async function measureSteady(ctx: BenchContext, run: SteadyRun): Promise<void> {
  const cfg = ctx.config.fleet;
  const { count, conductors, fleet, nats } = run;
  const prefix = `fleet.hosts.conductors${count}`;
  // A heartbeat interval first: a new conductor takes its share of the queue group, timers spread.
  await sleep(Math.min(cfg.heartbeatMs, 10_000));
  await fleet.stats(true);

  const victim = run.hostnames[Math.floor(Math.random() * run.hostnames.length)];
  const before = await sample(run);
  const lastHeard = (await fleet.silence(victim)) ?? Date.now();
  const windowStart = new Date();
  await sleep(cfg.seconds * 1000);
  const after = await sample(run);
  const stats = await fleet.stats(true);
  const seconds = (after.at - before.at) / 1000;
  const load = os.loadavg()[0];

  const cpuMs = after.conductorCpu.map((c, i) => (c - (before.conductorCpu[i] ?? 0)) / 1000);
  const conductorPct = (cpuMs.reduce((a, b) => a + b, 0) / seconds / 1000) * 100;
  const messages = (after.nats.in + after.nats.out - before.nats.in - before.nats.out) / seconds;
  const commits = (after.pg.commits - before.pg.commits) / seconds;
  const rows = (after.pg.rows - before.pg.rows) / seconds;
  const heartbeats = stats.heartbeats / seconds;
  const used = OutsideCpu.between(before.outside, after.outside);
  const fleetCpuPct = ((after.fleetCpu - before.fleetCpu) / 1000 / seconds / 1000) * 100;
  const machine =
    `load average ${load.toFixed(1)} on ${os.cpus().length} cores; CPU: conductors ${conductorPct.toFixed(0)}% ` +
    `(${cpuMs.map((c) => `${((c / seconds / 1000) * 100).toFixed(0)}%`).join(' + ')}), ` +
    `PostgreSQL backends ${((used.postgresMicros / 1000 / seconds / 1000) * 100).toFixed(0)}%, ` +
    `nats-server ${((used.natsMicros / 1000 / seconds / 1000) * 100).toFixed(0)}%, ` +
    `fleet workers ${fleetCpuPct.toFixed(0)}% of a core`;

  const down = await downAt(run.db, victim, windowStart, cfg.downAfterMs);
  const detection = down === null ? NaN : down.getTime() - lastHeard;
  const falseDown = await falseDowns(run.db, victim, windowStart);

  const rack = Array.from({ length: cfg.rack }, (_, i) => `fleet-${run.tag}-rack${count}-${i}`);
  const rackTimes = await fleet.add(rack);
  run.hostnames.push(...rack);
  const rackMs = rackTimes[rackTimes.length - 1];

  ctx.log(
    `${count} conductor(s), ${stats.hosts} hosts, ${seconds.toFixed(0)}s: ${heartbeats.toFixed(0)} heartbeats/s ` +
      `(p99 ${percentile(stats.heartbeatMs, 99).toFixed(0)} ms, ${stats.heartbeatFailures} failed), ` +
      `${(stats.reports / seconds).toFixed(0)} reports/s, ${messages.toFixed(0)} NATS msgs/s, ` +
      `${commits.toFixed(0)} commits/s, ${rows.toFixed(0)} rows/s; ${machine}; ` +
      `dead host after ${(detection / 1000).toFixed(1)}s (HOST_DOWN_AFTER_MS ${cfg.downAfterMs}), ` +
      `${falseDown} falsely down; rack of ${cfg.rack} in ${(rackMs / 1000).toFixed(1)}s` +
      (stats.firstFailure ? `; first failure: ${stats.firstFailure}` : ''),
  );

  const window = `${stats.hosts} hosts (${run.label}), heartbeats every ${cfg.heartbeatMs} ms, reports every ${cfg.reportMs} ms, ${seconds.toFixed(0)}s`;
  ctx.record(
    figure({
      name: `${prefix}.conductorCpu`,
      value: conductorPct,
      unit: '% of a core',
      baseline: null,
      note: `${window}; ${((cpuMs.reduce((a, b) => a + b, 0) / Math.max(1, stats.heartbeats + stats.reports)) * 1).toFixed(3)} ms per heartbeat or report; ${machine}`,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.conductorRss`,
      value: Math.max(...after.conductorRss),
      unit: 'MiB',
      baseline: null,
      note: `resident memory of the largest conductor at the window's end (${after.conductorRss.map((r) => r.toFixed(0)).join(', ')} MiB)`,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.heartbeats`,
      value: heartbeats,
      unit: 'heartbeats/s',
      baseline: stats.hosts / (cfg.heartbeatMs / 1000),
      baselineUnit: 'heartbeats/s the hosts send',
      goal: { ratio: 0.95 },
      note:
        `answered heartbeats; ${stats.heartbeatFailures} failed, p50 ${percentile(stats.heartbeatMs, 50).toFixed(1)} ms, ` +
        `p99 ${percentile(stats.heartbeatMs, 99).toFixed(1)} ms; ${(stats.reports / seconds).toFixed(1)} unchanged reports/s` +
        `, ${stats.reportFailures} failed`,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.heartbeat.p99`,
      value: percentile(stats.heartbeatMs, 99),
      unit: 'ms',
      baseline: null,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.natsMessages`,
      value: messages,
      unit: 'messages/s',
      baseline: run.floor.messages,
      note: `nats-server /varz in_msgs + out_msgs; baseline: the same server under raw request/reply, ${FLOOR_CONCURRENCY} in flight (${run.floor.requests.toFixed(0)} requests/s)`,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.pgCommits`,
      value: commits,
      unit: 'commits/s',
      baseline: heartbeats,
      baselineUnit: 'heartbeats/s',
      note: `pg_stat_database xact_commit of the run's database; baseline: one commit per heartbeat, as one write per heartbeat would make`,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.pgRowWrites`,
      value: rows,
      unit: 'rows/s',
      baseline: heartbeats,
      baselineUnit: 'heartbeats/s',
      note: "pg_stat_database tup_inserted + tup_updated of the run's database",
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.deadHost`,
      value: detection,
      unit: 'ms',
      baseline: cfg.downAfterMs,
      baselineUnit: 'ms (HOST_DOWN_AFTER_MS)',
      goal: { maxRatio: 4 / 3 + 0.1 },
      note:
        `from the silenced host's last answered heartbeat to its HostDown event (occurred_at); the check runs every ` +
        `HOST_DOWN_AFTER_MS / 3; ${falseDown} other host(s) marked down meanwhile`,
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.falseDown`,
      value: falseDown,
      unit: 'hosts',
      baseline: null,
      goal: { maxValue: 0 },
    }),
  );
  ctx.record(
    figure({
      name: `${prefix}.rack`,
      value: rackMs,
      unit: 'ms',
      baseline: null,
      note:
        `${cfg.rack} new hosts registering at once (register_host + first report_inventory) while the fleet runs; ` +
        `first done after ${rackTimes[0].toFixed(0)} ms, median ${percentile(rackTimes, 50).toFixed(0)} ms`,
    }),
  );
}

interface Sample {
  at: number;
  conductorCpu: number[];
  conductorRss: number[];
  fleetCpu: number;
  nats: { in: number; out: number };
  pg: { commits: number; rows: number };
  outside: Awaited<ReturnType<OutsideCpu['read']>>;
}

async function sample(run: SteadyRun): Promise<Sample> {
  const [natsCounts, pg, outside] = await Promise.all([
    run.nats.messages(),
    databaseWrites(run.db),
    run.outside.read(),
  ]);
  return {
    at: Date.now(),
    conductorCpu: run.conductors.map((c) => procCpuMicros(c.pid) ?? 0),
    conductorRss: run.conductors.map((c) => rssMiB(c.pid)),
    fleetCpu: run.fleet.pids.reduce((sum, pid) => sum + (procCpuMicros(pid) ?? 0), 0),
    nats: natsCounts,
    pg,
    outside,
  };
}

async function databaseWrites(db: BenchDatabase): Promise<{ commits: number; rows: number }> {
  // A fresh snapshot: the counters of this session's last read are cached until then.
  await db.pool.query(`SELECT pg_stat_clear_snapshot()`);
  const { rows } = await db.pool.query<{ commits: string; rows: string }>(
    `SELECT xact_commit AS commits, tup_inserted + tup_updated AS rows FROM pg_stat_database WHERE datname = $1`,
    [db.name],
  );
  return { commits: Number(rows[0].commits), rows: Number(rows[0].rows) };
}

/** When the host's HostDown was recorded; waits up to twice HOST_DOWN_AFTER_MS more for it. */
async function downAt(db: BenchDatabase, hostname: string, since: Date, downAfterMs: number): Promise<Date | null> {
  const deadline = Date.now() + 2 * downAfterMs;
  for (;;) {
    const { rows } = await db.pool.query<{ occurred_at: Date }>(
      `SELECT occurred_at FROM events WHERE stream_id = $1 AND type = 'HostDown' AND occurred_at >= $2
       ORDER BY position LIMIT 1`,
      [`host-${hostname}`, since],
    );
    if (rows[0]) return rows[0].occurred_at;
    if (Date.now() > deadline) return null;
    await sleep(200);
  }
}

async function falseDowns(db: BenchDatabase, victim: string, since: Date): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE type = 'HostDown' AND stream_id <> $1 AND occurred_at >= $2`,
    [`host-${victim}`, since],
  );
  return rows[0].n;
}

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kib / 1024;
  } catch {
    return 0;
  }
}

/**
 * The floor: raw request/reply on the run's nats-server (one responder that
 * answers at once, FLOOR_CONCURRENCY requests in flight), in requests and in
 * messages per second as /varz counts them.
 */
async function measureFloor(nats: BenchNatsServer): Promise<{ requests: number; messages: number }> {
  const responder = await connect({ servers: nats.url, name: 'cyborg-bench-floor-responder' });
  const requester = await connect({ servers: nats.url, name: 'cyborg-bench-floor-requester' });
  try {
    responder.subscribe('bench.fleet.floor', { callback: (_error, message) => void message.respond(message.data) });
    await responder.flush();
    const payload = JSON.stringify({ hostname: 'fleet-floor-0' });
    const before = await nats.messages();
    const t0 = now();
    const end = t0 + FLOOR_SECONDS * 1000;
    let requests = 0;
    await Promise.all(
      Array.from({ length: FLOOR_CONCURRENCY }, async () => {
        while (now() < end) {
          await requester.request('bench.fleet.floor', payload, { timeout: 10_000 });
          requests++;
        }
      }),
    );
    const seconds = (now() - t0) / 1000;
    const after = await nats.messages();
    return { requests: requests / seconds, messages: (after.in + after.out - before.in - before.out) / seconds };
  } finally {
    await requester.drain().catch(() => undefined);
    await responder.drain().catch(() => undefined);
  }
}
