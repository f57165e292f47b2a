import { verifyEventLog } from '@cyborg/event-store';
import { type BenchContext, shared } from '../support/context';
import { now } from '../support/timing';

export interface GeneratedLog {
  events: number;
  streams: number;
  byType: Record<string, number>;
  seconds: number;
  /** Hash chains checked with verifyEventLog: true/false, null when not checked. */
  verified: boolean | null;
}

/**
 * A log of exactly `events` valid events, written set-based (INSERT ... SELECT
 * generate_series), one statement per chunk so the log spans many
 * transactions. About two thirds are host streams as an agent writes them
 * (HostRegistered, then one inventory report of two devices: DeviceAdded,
 * DeployableAdded, AttributeAdded, AttachHandleAdded, closed by
 * InventoryReported); one third device-profile life cycles (Created +
 * NameClaimed, half of them later Deleted + NameReleased). Payloads follow
 * the v1 contracts in libs/contracts; hashes and prev_hash form real
 * per-stream chains (the canonical JSON of libs/event-store/src/hash.ts is
 * built in SQL) and the streams table matches, so verifyEventLog passes.
 */
export function generatedLog(ctx: BenchContext): Promise<GeneratedLog> {
  return shared(ctx, 'storage.log', () => generate(ctx, ctx.config.events));
}

async function generate(ctx: BenchContext, total: number): Promise<GeneratedLog> {
  const { db, config } = ctx;
  await db.resetSchema();
  const profiles = Math.floor(total / 9);
  const deleted = Math.floor(profiles / 2); // the even ones
  const hostEvents = total - 2 * profiles - 2 * deleted;
  const hosts = Math.ceil(hostEvents / HOST_LAYERS.length);
  const chunk = config.generateChunk;
  const started = now();
  ctx.log(`generating ${total} events: ${profiles} device profiles, ${hosts} hosts`);

  const run = async (text: string, params: unknown[]) => {
    await db.pool.query(text, params);
  };
  for (let v = 1; v <= HOST_LAYERS.length; v++) {
    for (let a = 1; a <= hosts; a += chunk) {
      await run(insertEvents(hostLayer(v)), [v, a, Math.min(hosts, a + chunk - 1), hostEvents]);
    }
    if (v === 1 || v === 6) {
      const layer = v === 1 ? profileCreated : profileDeleted;
      const per = Math.max(1, Math.floor(chunk / 2)); // two events per profile
      for (let a = 1; a <= profiles; a += per) {
        await run(insertEvents(layer), [v === 1 ? 1 : 2, a, Math.min(profiles, a + per - 1)]);
      }
    }
    ctx.log(`  layer ${v}/${HOST_LAYERS.length} written`);
  }
  await db.pool.query(
    `INSERT INTO streams (stream_id, category, version, last_hash, updated_at)
     SELECT DISTINCT ON (stream_id) stream_id, category, version, hash, occurred_at
     FROM events ORDER BY stream_id, version DESC`,
  );
  await db.pool.query(`VACUUM (ANALYZE) events`);
  await db.pool.query(`VACUUM (ANALYZE) streams`);
  const counts = await db.pool.query(`SELECT type, count(*)::int AS n FROM events GROUP BY type ORDER BY type`);
  const streams = await db.pool.query(`SELECT count(*)::int AS n FROM streams`);
  const byType = Object.fromEntries(counts.rows.map((r) => [r.type, r.n]));
  const events = counts.rows.reduce((s, r) => s + r.n, 0);
  if (events !== total) throw new Error(`generated ${events} events, wanted ${total}`);
  const seconds = (now() - started) / 1000;
  ctx.log(`generated ${events} events in ${seconds.toFixed(1)}s (${(events / seconds).toFixed(0)} events/s)`);

  let verified: boolean | null = null;
  if (config.verify) {
    const result = await verifyEventLog(db.dataSource);
    verified = result.breaks.length === 0 && result.events === total;
    ctx.log(
      `verifyEventLog: ${result.events} events, ${result.streams} streams, ${result.breaks.length} breaks` +
        (result.breaks[0] ? ` (first: ${JSON.stringify(result.breaks[0])})` : ''),
    );
  }
  return { events, streams: streams.rows[0].n, byType, seconds, verified };
}

// Every source yields: ord, stream_id, category, version, type, event_id, data (canonical JSON text),
// metadata (canonical JSON text), occurred_at (whole milliseconds).

const ts = (ms: string) => `(timestamptz '2025-01-01 00:00:00+00' + (${ms}) * interval '1 millisecond')`;
const iso = (t: string) => `to_char(${t} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** Canonical (sorted-key) metadata as the API records it. */
const metadata = (key: string) =>
  `'{"commandId":"' || md5('cmd:' || ${key})::uuid || '","projectId":"' || md5('project:' || (${key}) % 97)::uuid ||
   '","requestId":"req-' || md5('req:' || ${key})::uuid || '","roles":["admin","member"],"service":false,"userId":"' ||
   md5('user:' || (${key}) % 13)::uuid || '"}'`;

/** Per host, in stream order: `[type, canonical data]` with h, hn (hostname) and the uuids in scope. */
const HOST_LAYERS: [string, string][] = [
  ['HostRegistered', `'{"agentVersion":"2025.1.0","drivers":["intel_fpga","nvidia_gpu"],"hostname":"' || hn || '"}'`],
  ...device('a', 'PCI:0000:5e:00.0', '5e', 'intel_fpga', 'FPGA', '8086', '09c4', 'fpga', [
    ['rc', 'FPGA'],
    ['trait0', 'CUSTOM_FPGA_INTEL_PAC_ARRIA10'],
  ]),
  ...device('b', 'PCI:0000:af:00.0', 'af', 'nvidia_gpu', 'GPU', '10de', '20b5', 'gpu', [['rc', 'PGPU']]),
  [
    'InventoryReported',
    `'{"generation":1,"hash":"' || encode(sha256(convert_to(hn, 'UTF8')), 'hex') || '","hostname":"' || hn || '"}'`,
  ],
];

/** One device of an inventory report: the device, its deployable, its attributes and its attach handle. */
function device(
  k: string,
  controlPath: string,
  bus: string,
  driver: string,
  type: string,
  vendor: string,
  model: string,
  name: string,
  attributes: [string, string][],
): [string, string][] {
  const pci = `{\\"bus\\":\\"${bus}\\",\\"device\\":\\"00\\",\\"domain\\":\\"0000\\",\\"function\\":\\"0\\"}`;
  return [
    [
      'DeviceAdded',
      `'{"controlPath":"${controlPath}","controlPathId":{"info":{"bus":"${bus}","device":"00","domain":"0000",` +
        `"function":"0"},"type":"PCI"},"driverName":"${driver}","hostname":"' || hn || '","model":"${model}",` +
        `"stdBoardInfo":"{\\"controller\\":\\"${vendor}\\",\\"product_id\\":\\"${model}\\"}","type":"${type}","uuid":"' || ` +
        `md5('dev-${k}:' || h)::uuid || '","vendor":"${vendor}","vendorBoardInfo":null}'`,
    ],
    [
      'DeployableAdded',
      `'{"deviceUuid":"' || md5('dev-${k}:' || h)::uuid || '","driverName":"${driver}","hostname":"' || hn ||
      '","name":"' || hn || '_${name}_0","numAccelerators":1,"parentUuid":null,"rootUuid":null,"rpUuid":"' ||
      md5('rp-${k}:' || h)::uuid || '","uuid":"' || md5('dep-${k}:' || h)::uuid || '"}'`,
    ],
    ...attributes.map(([key, value]): [string, string] => [
      'AttributeAdded',
      `'{"deployableUuid":"' || md5('dep-${k}:' || h)::uuid || '","hostname":"' || hn || '","key":"${key}",` +
        `"source":"agent","uuid":"' || md5('attr-${k}-${key}:' || h)::uuid || '","value":"${value}"}'`,
    ]),
    [
      'AttachHandleAdded',
      `'{"deployableUuid":"' || md5('dep-${k}:' || h)::uuid || '","deviceUuid":"' || ` +
        `md5('dev-${k}:' || h)::uuid || '","hostname":"' || hn || '","info":"${pci}","type":"PCI","uuid":"' || ` +
        `md5('ah-${k}:' || h)::uuid || '"}'`,
    ],
  ];
}

/** Layer $1 (1-based) of every host stream: $2..$3 host numbers, $4 host events in all (the last host may stop early). */
function hostLayer(v: number): string {
  const [type, data] = HOST_LAYERS[v - 1];
  return `
  SELECT h::bigint AS ord, 'host-' || hn AS stream_id, 'host' AS category, $1::int AS version, '${type}' AS type,
    md5('host:' || h || ':' || $1::int)::uuid AS event_id, ${data} AS data,
    ${metadata(`(h * 100 + $1::int)`)} AS metadata,
    ${ts(`$1::int * 10000000 + h`)} AS occurred_at
  FROM generate_series($2::int, $3::int) h, LATERAL (SELECT 'compute-' || h || '.bench.example' AS hn) n
  WHERE least(${HOST_LAYERS.length}, $4::int - ${HOST_LAYERS.length} * (h - 1)) >= $1::int`;
}

/** $1 = 1; $2..$3 profile numbers: DeviceProfileCreated + DeviceProfileNameClaimed, as one command appends them. */
const profileCreated = `
  SELECT p * 2 + k.n AS ord, k.stream_id, k.category, $1::int AS version, k.type,
    md5('profile:' || p || ':' || k.n)::uuid AS event_id, k.data, ${metadata(`(p * 10 + 1)`)} AS metadata, t.at AS occurred_at
  FROM generate_series($2::int, $3::int) p,
    LATERAL (SELECT md5('profile:' || p)::uuid::text AS uuid, 'bench-profile-' || p AS name,
                    ${ts(`10000000 + p`)} AS at) t,
    LATERAL (VALUES
      (0, 'device_profile-' || t.uuid, 'device_profile', 'DeviceProfileCreated',
       '{"createdAt":"' || ${iso('t.at')} || '","description":' ||
         CASE WHEN p % 3 = 0 THEN 'null' ELSE '"bench profile ' || p || '"' END ||
         ',"groups":[{"resources:FPGA":"1","trait:CUSTOM_FPGA_INTEL_PAC_ARRIA10":"required"}],"name":"' ||
         t.name || '","uuid":"' || t.uuid || '"}'),
      (1, 'device_profile_name-' || t.name, 'device_profile_name', 'DeviceProfileNameClaimed',
       '{"name":"' || t.name || '","uuid":"' || t.uuid || '"}')
    ) AS k(n, stream_id, category, type, data)`;

/** $1 = 2; $2..$3 profile numbers: the even ones are deleted and their names released. */
const profileDeleted = `
  SELECT p * 2 + k.n AS ord, k.stream_id, k.category, $1::int AS version, k.type,
    md5('profile-deleted:' || p || ':' || k.n)::uuid AS event_id, k.data, ${metadata(`(p * 10 + 2)`)} AS metadata,
    t.at AS occurred_at
  FROM generate_series($2::int, $3::int) p,
    LATERAL (SELECT md5('profile:' || p)::uuid::text AS uuid, 'bench-profile-' || p AS name,
                    ${ts(`50000000 + p`)} AS at) t,
    LATERAL (VALUES
      (0, 'device_profile-' || t.uuid, 'device_profile', 'DeviceProfileDeleted',
       '{"name":"' || t.name || '","uuid":"' || t.uuid || '"}'),
      (1, 'device_profile_name-' || t.name, 'device_profile_name', 'DeviceProfileNameReleased',
       '{"name":"' || t.name || '","uuid":"' || t.uuid || '"}')
    ) AS k(n, stream_id, category, type, data)
  WHERE p % 2 = 0`;

/**
 * Inserts a source's rows with their chain: prev_hash is the stream's previous
 * event's hash (written by an earlier statement), and hash is sha256 over the
 * same canonical JSON as eventHash() in libs/event-store/src/hash.ts.
 */
function insertEvents(source: string): string {
  return `
    INSERT INTO events (event_id, stream_id, category, version, type, schema_version, data, metadata,
                        occurred_at, prev_hash, hash)
    SELECT s.event_id, s.stream_id, s.category, s.version, s.type, 1, s.data::jsonb, s.metadata::jsonb,
      s.occurred_at, p.hash,
      encode(sha256(convert_to(
        '{"data":' || s.data || ',"eventId":"' || s.event_id || '","metadata":' || s.metadata ||
        ',"occurredAt":"' || ${iso('s.occurred_at')} || '","prevHash":' || coalesce('"' || p.hash || '"', 'null') ||
        ',"schemaVersion":1,"streamId":"' || s.stream_id || '","type":"' || s.type || '","version":' || s.version || '}',
        'UTF8')), 'hex')
    FROM (${source}) s
    LEFT JOIN events p ON p.stream_id = s.stream_id AND p.version = s.version - 1
    ORDER BY s.ord`;
}
