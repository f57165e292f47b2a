import { randomBytes } from 'node:crypto';
import type { BenchContext, BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { fakeSnapshot, SimulatedAgent } from './hosts';
import { http, sleep } from './http';
import type { ProxiedCall } from './placement-server';
import { BenchSystem } from './system';

/**
 * Upstream Cyborg's Placement calls for the same changes, counted from
 * `cyborg/common/placement_client.py` (the README's Placement section):
 * the baseline of these figures, not measured here.
 */
const UPSTREAM_CALLS = {
  newDeployable: 9,
  deviceDisabled: 2,
  deviceEnabled: 2,
  removedDeployable: 2,
  unchangedReport: 0,
} as const;

type Change = keyof typeof UPSTREAM_CALLS;

/** No Placement call for this long: placement-sync has finished with a change. */
const QUIET_MS = 500;

/**
 * Placement calls per change against a real Placement 8.0, counted by a
 * proxy in front of it: one host, known to Placement as Nova would make it,
 * gets the fake driver's FPGA (one trait, a standard class), has the device
 * disabled and enabled through the API, reports unchanged, and loses the
 * device. Each change is counted from the report (or API call) until
 * placement-sync records the host synced at its new stream version and
 * Placement has had no call for 500 ms.
 */
export const placementModule: BenchModule = {
  name: 'system.placement',
  title: "placement-sync calls per change against a real Placement vs upstream Cyborg's",
  async run(ctx) {
    const system = await BenchSystem.get(ctx);
    const hostname = `bench-pl-${randomBytes(3).toString('hex')}`;
    const agent = new SimulatedAgent(system.rpc, hostname);
    const created = await system.placement.call('POST', '/resource_providers', { name: hostname });
    if (created.status !== 200) throw new Error(`compute node provider: ${created.status}`);

    // A host without devices first: finding its compute node is not a change of a deployable.
    const first = await measure(ctx, system, hostname, async () => {
      await agent.register(['fake']);
      await agent.report(fakeSnapshot(hostname, false));
    });
    ctx.log(`host ${hostname} without devices: ${describe(first)}`);

    const counted: [Change, ProxiedCall[]][] = [];
    counted.push(['newDeployable', await measure(ctx, system, hostname, () => agent.report(fakeSnapshot(hostname)))]);
    const device = await deviceOf(system, hostname);
    counted.push(['deviceDisabled', await measure(ctx, system, hostname, () => setStatus(system, device, 'disable'))]);
    counted.push(['deviceEnabled', await measure(ctx, system, hostname, () => setStatus(system, device, 'enable'))]);
    counted.push([
      'unchangedReport',
      await measure(ctx, system, hostname, async () => {
        const result = await agent.report(fakeSnapshot(hostname));
        if (result.changed) throw new Error('the unchanged report changed the host');
      }),
    ]);
    counted.push([
      'removedDeployable',
      await measure(ctx, system, hostname, () => agent.report(fakeSnapshot(hostname, false))),
    ]);

    for (const [change, calls] of counted) {
      ctx.log(`${change}: ${describe(calls)} (upstream ${UPSTREAM_CALLS[change]})`);
      const upstream = UPSTREAM_CALLS[change];
      ctx.record(
        figure({
          name: `system.placement.${change}`,
          value: calls.length,
          unit: 'calls',
          baseline: upstream,
          ratio: upstream > 0 ? undefined : null,
          goal: upstream > 0 ? { maxRatio: 1 / 3 } : { maxValue: 0 },
          note: `${describe(calls)}; baseline: upstream Cyborg's calls for the same change (README, Placement)`,
        }),
      );
    }
    const ours = counted.reduce((n, [, calls]) => n + calls.length, 0);
    const theirs = counted.reduce((n, [change]) => n + UPSTREAM_CALLS[change], 0);
    ctx.record(
      figure({
        name: 'system.placement.allChanges',
        value: ours,
        unit: 'calls',
        baseline: theirs,
        goal: { maxRatio: 1 / 3 },
        note: `the five changes above together; upstream's counts summed`,
      }),
    );
  },
};

/** Runs a change and returns the Placement calls it caused, once the host is synced and Placement quiet. */
async function measure(
  ctx: BenchContext,
  system: BenchSystem,
  hostname: string,
  change: () => Promise<unknown>,
): Promise<ProxiedCall[]> {
  const from = system.proxy.calls.length;
  const started = Date.now();
  await change();
  const version = await streamVersion(ctx, hostname);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows: { state: string; synced_version: number | null }[] = await ctx.db.pool
      .query(`SELECT state, synced_version FROM placement_sync_status WHERE hostname = $1`, [hostname])
      .then((r) => r.rows);
    const synced = rows[0]?.state === 'synced' && rows[0].synced_version === version;
    const quiet = Date.now() - Math.max(system.proxy.lastCallAt, started) >= QUIET_MS;
    if (synced && quiet) break;
    if (Date.now() > deadline) {
      throw new Error(`host ${hostname} not synced at version ${version} within 60 s: ${JSON.stringify(rows[0])}`);
    }
    await sleep(50);
  }
  return system.proxy.calls.slice(from);
}

async function streamVersion(ctx: BenchContext, hostname: string): Promise<number> {
  const { rows } = await ctx.db.pool.query(`SELECT version FROM streams WHERE stream_id = $1`, [`host-${hostname}`]);
  return rows[0] ? Number(rows[0].version) : 0;
}

async function deviceOf(system: BenchSystem, hostname: string): Promise<string> {
  const { status, body } = await http<{ devices: { uuid: string }[] }>(
    system.apiUrl,
    'GET',
    `/v2/devices?hostname=${hostname}`,
  );
  if (status !== 200 || body.devices.length !== 1) throw new Error(`devices of ${hostname}: ${status}`);
  return body.devices[0].uuid;
}

/** An operator disables or enables the device through the API (admin, no headers under noauth). */
async function setStatus(system: BenchSystem, device: string, action: 'disable' | 'enable'): Promise<void> {
  const answer = await http(system.apiUrl, 'POST', `/v2/devices/${device}/${action}`);
  if (answer.status !== 200) throw new Error(`${action} device: ${answer.status} ${answer.text}`);
}

function describe(calls: ProxiedCall[]): string {
  if (calls.length === 0) return '0 calls';
  const shape = calls.map((c) => `${c.method} ${c.path.split('?')[0].replace(/[0-9a-f-]{36}/g, '{uuid}')} ${c.status}`);
  return `${calls.length} call${calls.length > 1 ? 's' : ''}: ${shape.join(', ')}`;
}
