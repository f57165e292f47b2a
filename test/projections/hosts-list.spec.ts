import { randomUUID } from 'node:crypto';
import { EventStore } from '@cyborg/event-store';
import { databaseMigrations, HostsReadModel } from '@cyborg/projections';
import { createTestDatabase, type TestDatabase } from '../support/database';

let db: TestDatabase;
let store: EventStore;
let hosts: HostsReadModel;

/**
 * The hosts list as it was before the HostListIndexes migration: every host's
 * `HostRegistered` and `HostDown`/`HostUp` found by scanning the log with
 * `DISTINCT ON`. The read model must answer exactly as this did.
 */
const scanningList = `
  WITH named AS (
    SELECT substr(stream_id, 6) AS hostname FROM streams WHERE category = 'host'
    UNION SELECT hostname FROM host_heartbeats
  ),
  registered AS (
    SELECT DISTINCT ON (stream_id) substr(stream_id, 6) AS hostname, data, occurred_at
    FROM events WHERE category = 'host' AND type = 'HostRegistered'
    ORDER BY stream_id, version DESC
  ),
  liveness AS (
    SELECT DISTINCT ON (stream_id) substr(stream_id, 6) AS hostname, type, occurred_at
    FROM events WHERE category = 'host' AND type IN ('HostDown', 'HostUp')
    ORDER BY stream_id, version DESC
  )
  SELECT n.hostname, hb.last_seen_at, l.type AS liveness, l.occurred_at AS liveness_at,
         r.data->>'agentVersion' AS agent_version,
         ARRAY(SELECT jsonb_array_elements_text(COALESCE(r.data->'drivers', '[]'::jsonb))) AS drivers,
         r.occurred_at AS registered_at,
         (SELECT count(*) FROM devices d WHERE d.hostname = n.hostname) AS devices,
         (SELECT count(*) FROM deployables d WHERE d.hostname = n.hostname) AS deployables,
         (SELECT count(*) FROM attach_handles h WHERE h.hostname = n.hostname) AS handles,
         (SELECT count(*) FROM attach_handles h WHERE h.hostname = n.hostname AND h.in_use) AS handles_in_use
  FROM named n
  LEFT JOIN host_heartbeats hb ON hb.hostname = n.hostname
  LEFT JOIN registered r ON r.hostname = n.hostname
  LEFT JOIN liveness l ON l.hostname = n.hostname
  WHERE $1::text IS NULL OR n.hostname = $1
  ORDER BY n.hostname`;

interface ScannedRow {
  hostname: string;
  last_seen_at: Date | null;
  liveness: string | null;
  liveness_at: Date | null;
  agent_version: string | null;
  drivers: string[] | null;
  registered_at: Date | null;
  devices: string;
  deployables: string;
  handles: string;
  handles_in_use: string;
}

async function scanned(hostname?: string) {
  const rows: ScannedRow[] = await db.dataSource.query(scanningList, [hostname ?? null]);
  return rows.map((r) => ({
    hostname: r.hostname,
    up: r.liveness !== 'HostDown',
    lastHeartbeatAt: r.last_seen_at,
    livenessChangedAt: r.liveness_at,
    agentVersion: r.agent_version,
    drivers: r.drivers ?? [],
    registeredAt: r.registered_at,
    devices: Number(r.devices),
    deployables: Number(r.deployables),
    attachHandles: Number(r.handles),
    attachHandlesInUse: Number(r.handles_in_use),
  }));
}

async function append(hostname: string, events: { type: string; data: Record<string, unknown> }[]): Promise<void> {
  const streamId = `host-${hostname}`;
  const stream = await store.readStream(streamId);
  await store.append([{ streamId, expectedVersion: stream.length, events }]);
}

const registered = (hostname: string, agentVersion: string, drivers: string[]) => ({
  type: 'HostRegistered',
  data: { hostname, agentVersion, drivers },
});

/** An attach handle row as the inventory projection writes it. */
async function handle(hostname: string, inUse: boolean): Promise<void> {
  await db.dataSource.query(
    `INSERT INTO attach_handles (id, uuid, hostname, deployable_uuid, device_uuid, type, info, in_use, created_at)
     VALUES ((SELECT coalesce(max(id), 0) + 1 FROM attach_handles), $1, $2, $3, $4, 'PCI', '{}', $5, now())`,
    [randomUUID(), hostname, randomUUID(), randomUUID(), inUse],
  );
}

beforeAll(async () => {
  db = await createTestDatabase({ migrations: databaseMigrations });
  store = new EventStore(db.dataSource);
  hosts = new HostsReadModel(db.dataSource);
}, 120_000);

afterAll(async () => {
  await db?.drop();
});

describe('hosts list from the partial indexes and joined counts', () => {
  it('answers what scanning the log answered, for every kind of host', async () => {
    const tag = randomUUID().slice(0, 8);
    const name = (n: string) => `hl-${tag}-${n}`;
    // Registered twice (new drivers), down, then up again; two handles, one in use.
    await append(name('a'), [registered(name('a'), '1.0.0', ['fake'])]);
    await append(name('a'), [{ type: 'HostDown', data: { hostname: name('a'), lastSeenAt: null } }]);
    await append(name('a'), [registered(name('a'), '1.1.0', ['fake', 'pci'])]);
    await append(name('a'), [{ type: 'HostUp', data: { hostname: name('a') } }]);
    await handle(name('a'), true);
    await handle(name('a'), false);
    // Registered and down, with a heartbeat row.
    await append(name('b'), [registered(name('b'), '1.0.0', [])]);
    await append(name('b'), [
      { type: 'HostDown', data: { hostname: name('b'), lastSeenAt: new Date().toISOString() } },
    ]);
    // Heard by a conductor, never registered.
    await db.dataSource.query(`INSERT INTO host_heartbeats (hostname, last_seen_at) VALUES ($1, now()), ($2, now())`, [
      name('b'),
      name('c'),
    ]);
    // A host stream without HostRegistered.
    await append(name('d'), [{ type: 'HostUp', data: { hostname: name('d') } }]);
    // Another category's stream whose id starts like a host's.
    await store.append([{ streamId: `hostile-${tag}`, expectedVersion: 0, events: [{ type: 'Other', data: {} }] }]);

    const all = await hosts.list();
    expect(all.map((h) => h.hostname)).toEqual(expect.arrayContaining(['a', 'b', 'c', 'd'].map(name)));
    expect(all).toEqual(await scanned());
    for (const hostname of [...['a', 'b', 'c', 'd'].map(name), 'no-such-host', `ile-${tag}`]) {
      expect({ hostname, list: await hosts.list(hostname) }).toEqual({ hostname, list: await scanned(hostname) });
    }
    const a = all.find((h) => h.hostname === name('a'));
    expect(a).toMatchObject({
      up: true,
      agentVersion: '1.1.0',
      drivers: ['fake', 'pci'],
      attachHandles: 2,
      attachHandlesInUse: 1,
    });
    expect(all.find((h) => h.hostname === name('b'))).toMatchObject({ up: false, agentVersion: '1.0.0' });
  });
});
