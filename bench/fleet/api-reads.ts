import os from 'node:os';
import type { BenchContext } from '../support/context';
import type { BenchDatabase } from '../support/database';
import { figure } from '../support/figure';
import { now, percentile } from '../support/timing';
import { http, sleep } from '../system/http';
import { freePort } from '../system/ports';
import { ServiceProcess } from '../system/service-process';
import { appMain, profileFlags } from '../system/system';

/** Each read is timed this long (or MAX_SAMPLES times, whichever ends first), then its baseline as long. */
const READ_SECONDS = 4;
const MIN_SAMPLES = 10;
const MAX_SAMPLES = 400;

interface Read {
  /** The figure's last name part. */
  name: string;
  path: string;
  /** The plain indexed SELECT of the same rows; none where the answer is not rows of a table. */
  baseline: { sql: string; params: unknown[] } | null;
}

/**
 * The API's list and read endpoints over real HTTP at the fleet's size: an
 * API process started on the fleet's database and NATS (noauth, the admin),
 * its projections caught up first; p50/p99 of one client's calls, beside a
 * plain `pg` SELECT of the same rows through their index.
 */
export async function measureApiReads(
  ctx: BenchContext,
  db: BenchDatabase,
  natsUrl: string,
  hostnames: string[],
): Promise<void> {
  const port = await freePort();
  const since = new Date();
  const t0 = now();
  const api = await ServiceProcess.start({
    name: 'fleet-api',
    main: appMain('api'),
    env: { DATABASE_URL: db.url, NATS_URL: natsUrl, API_HOST: '127.0.0.1', API_PORT: String(port), LOG_LEVEL: 'log' },
    readyMessage: 'api listening',
    execArgv: profileFlags('api'),
  });
  ctx.onCleanup(() => api.stop());
  const url = String((await api.ready()).url);
  const hosts = hostnames.length;
  // The API's projections start from the log's beginning: its read models are the fleet's once they caught up.
  const projected = await caughtUp(db, hosts);
  const catchUpSeconds = (now() - t0) / 1000;
  if (!projected) ctx.log(`fleet api: read models not caught up after ${catchUpSeconds.toFixed(0)}s, measuring anyway`);
  ctx.log(`fleet api: started and projected ${hosts} hosts in ${catchUpSeconds.toFixed(1)}s`);

  const host = hostnames[Math.floor(hostnames.length / 2)];
  const { rows: picked } = await db.pool.query<{ uuid: string }>(
    `SELECT uuid FROM devices WHERE hostname = $1 LIMIT 1`,
    [host],
  );
  const device = picked[0]?.uuid;
  const { rows: middle } = await db.pool.query<{ uuid: string }>(
    `SELECT uuid FROM devices ORDER BY id OFFSET $1 LIMIT 1`,
    [Math.floor(hosts / 2)],
  );
  const marker = middle[0]?.uuid;
  const reads: Read[] = [
    {
      name: 'hosts',
      path: '/v2/hosts',
      baseline: { sql: `SELECT * FROM host_heartbeats ORDER BY hostname`, params: [] },
    },
    {
      name: 'host',
      path: `/v2/hosts/${host}`,
      baseline: { sql: `SELECT * FROM attach_handles WHERE hostname = $1 ORDER BY id`, params: [host] },
    },
    { name: 'devices', path: '/v2/devices', baseline: { sql: `SELECT * FROM devices ORDER BY id`, params: [] } },
    {
      name: 'devicesPage',
      path: `/v2/devices?limit=100${marker ? `&marker=${marker}` : ''}`,
      baseline: { sql: `SELECT * FROM devices ORDER BY id LIMIT 100`, params: [] },
    },
    {
      name: 'devicesOfHost',
      path: `/v2/devices?hostname=${host}`,
      baseline: { sql: `SELECT * FROM devices WHERE hostname = $1 ORDER BY id`, params: [host] },
    },
    {
      name: 'device',
      path: `/v2/devices/${device}`,
      baseline: { sql: `SELECT * FROM devices WHERE uuid = $1`, params: [device] },
    },
    {
      name: 'deployables',
      path: '/v2/deployables',
      baseline: { sql: `SELECT * FROM deployables ORDER BY id`, params: [] },
    },
    {
      name: 'deployablesPage',
      path: '/v2/deployables?limit=100',
      baseline: { sql: `SELECT * FROM deployables ORDER BY id LIMIT 100`, params: [] },
    },
    {
      name: 'attributesPage',
      path: '/v2/attributes?limit=100',
      baseline: { sql: `SELECT * FROM attributes ORDER BY id LIMIT 100`, params: [] },
    },
    {
      name: 'arqsOfInstance',
      path: '/v2/accelerator_requests?instance=00000000-0000-4000-8000-000000000001',
      baseline: {
        sql: `SELECT * FROM arqs WHERE instance_uuid = $1`,
        params: ['00000000-0000-4000-8000-000000000001'],
      },
    },
    { name: 'placementSync', path: '/v2/placement_sync', baseline: null },
    { name: 'healthz', path: '/healthz', baseline: { sql: `SELECT 1`, params: [] } },
  ];

  for (const read of reads) {
    const first = await http<unknown>(url, 'GET', read.path);
    if (first.status !== 200) {
      ctx.log(`fleet api: GET ${read.path} answered ${first.status}: ${first.text.slice(0, 200)}`);
      continue;
    }
    const bytes = Buffer.byteLength(first.text);
    const api = await timed(async () => {
      const answer = await http(url, 'GET', read.path);
      if (answer.status !== 200) throw new Error(`GET ${read.path} answered ${answer.status}`);
    });
    const base = read.baseline
      ? await timed(async () => void (await db.pool.query(read.baseline!.sql, read.baseline!.params)))
      : null;
    const load = os.loadavg()[0];
    const line =
      `GET ${read.path} (${(bytes / 1024).toFixed(1)} KiB): p50 ${percentile(api, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(api, 99).toFixed(1)} ms over ${api.length} calls` +
      (base ? `; baseline p50 ${percentile(base, 50).toFixed(2)} ms, p99 ${percentile(base, 99).toFixed(2)} ms` : '') +
      `; load average ${load.toFixed(1)}`;
    ctx.log(`fleet api: ${line}`);
    for (const p of [50, 99]) {
      ctx.record(
        figure({
          name: `fleet.hosts.api.${read.name}.p${p}`,
          value: percentile(api, p),
          unit: 'ms',
          baseline: base ? percentile(base, p) : null,
          baselineUnit: base ? 'ms (pg SELECT of the same rows)' : undefined,
          note:
            p === 50
              ? `${hosts} hosts; one client, one call after another over HTTP (noauth admin); ${line}` +
                (read.baseline ? `; baseline: ${read.baseline.sql}` : '')
              : undefined,
        }),
      );
    }
  }
  const { rows: downs } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE type = 'HostDown' AND occurred_at >= $1`,
    [since],
  );
  ctx.log(`fleet api: ${downs[0].n} host(s) marked down while the API started and answered`);
  ctx.record(
    figure({
      name: 'fleet.hosts.api.falseDown',
      value: downs[0].n,
      unit: 'hosts',
      baseline: null,
      goal: { maxValue: 0 },
      note: 'hosts the conductors marked down while the API caught up and answered these reads (none was silenced)',
    }),
  );
  ctx.record(
    figure({
      name: 'fleet.hosts.api.catchUp',
      value: catchUpSeconds,
      unit: 's',
      baseline: null,
      note: `from starting the API process to its read models holding the ${hosts} hosts' devices (projected from the log)`,
    }),
  );
  await api.stop();
}

/** Calls `call` one after another for READ_SECONDS (at least MIN_SAMPLES, at most MAX_SAMPLES); ms each, sorted. */
async function timed(call: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  const end = now() + READ_SECONDS * 1000;
  while (times.length < MAX_SAMPLES && (times.length < MIN_SAMPLES || now() < end)) {
    const t0 = now();
    await call();
    times.push(now() - t0);
  }
  return times.sort((a, b) => a - b);
}

/** Waits until the read models hold a device for every host (and a second more for the rest of the log). */
async function caughtUp(db: BenchDatabase, hosts: number): Promise<boolean> {
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const { rows } = await db.pool.query<{ n: number }>(`SELECT count(DISTINCT hostname)::int AS n FROM devices`);
    if (rows[0].n >= hosts) {
      await sleep(1000);
      return true;
    }
    await sleep(500);
  }
  return false;
}
