import type { CyborgEvent } from '@cyborg/contracts';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import {
  ArqBindFailed,
  type ArqBindFailedV1,
  ArqBindStarted,
  type ArqBindStartedV1,
  ArqBound,
  type ArqBoundV1,
  ArqDeleted,
  type ArqDeletedV1,
  ArqUnbound,
  type ArqUnboundV1,
  eventSchemas,
} from '@cyborg/contracts';
import { evolveArq, evolveHost, fold, initialArqState, initialHostState } from '@cyborg/domain';
import {
  anchorsStreamName,
  anchorsSubject,
  createDataSource,
  EventStore,
  EventTypeRegistry,
  type LogAnchor,
  migrate,
  type RecordedEvent,
  verifyAgainstCopies,
  verifyEventLog,
} from '@cyborg/event-store';
import { connectNats } from '@cyborg/messaging';
import { checkpointName, databaseMigrations, Projections, readModelProjections } from '@cyborg/projections';
import type { FaultSystem } from './fault-system';

/** What a check found wrong; empty when the invariant holds. */
export type Violations = string[];

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not reached within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

async function streamsOf(
  system: FaultSystem,
  category: 'arq' | 'host',
): Promise<Map<string, RecordedEvent<CyborgEvent>[]>> {
  const rows: { stream_id: string }[] = await system.db.query(`SELECT stream_id FROM streams WHERE category = $1`, [
    category,
  ]);
  const streams = new Map<string, RecordedEvent<CyborgEvent>[]>();
  for (const { stream_id } of rows) streams.set(stream_id, await system.store.readStream(stream_id));
  return streams;
}

/** ARQs whose bind is still in progress in the log, with their deadlines. */
async function bindsInProgress(system: FaultSystem): Promise<{ arq: string; deadline: string }[]> {
  const rows: { stream_id: string; deadline: string }[] = await system.db.query(
    `SELECT s.stream_id, e.data->>'deadline' AS deadline FROM streams s
     JOIN events e ON e.stream_id = s.stream_id AND e.version = s.version
     WHERE s.category = 'arq' AND e.type = $1`,
    [ArqBindStarted.type],
  );
  return rows.map((r) => ({ arq: r.stream_id.slice('arq-'.length), deadline: r.deadline }));
}

/**
 * Waits until the system is quiet after a fault: every bind ended (by its
 * deadline at the latest, plus the sweep that ends binds a stopped
 * conductor left), every projection and the relay at the head of the log.
 */
export async function settle(system: FaultSystem, timeoutMs: number): Promise<void> {
  await eventually(
    'every bind ended',
    async () => ((await bindsInProgress(system)).length === 0 ? true : undefined),
    timeoutMs,
  );
  await eventually(
    'every log reader at the head of the log',
    async () => {
      const head = await system.store.head();
      const behind: { name: string }[] = await system.db.query(
        `SELECT name FROM checkpoints WHERE (transaction_id, position) <> ($1::xid8, $2::bigint)`,
        [head.transactionId, head.position],
      );
      return behind.length === 0 ? true : undefined;
    },
    timeoutMs,
  );
}

/** No ARQ stays BindStarted past its deadline, in the log or in the read model. */
export async function bindsPastDeadline(system: FaultSystem): Promise<Violations> {
  const now = Date.now();
  const violations = (await bindsInProgress(system))
    .filter((b) => Date.parse(b.deadline) < now)
    .map((b) => `ARQ ${b.arq} is BindStarted in the log past its deadline ${b.deadline}`);
  const stale: { uuid: string; bind_deadline: Date }[] = await system.db.query(
    `SELECT uuid, bind_deadline FROM arqs WHERE state = 'BindStarted' AND bind_deadline < now()`,
  );
  for (const row of stale) violations.push(`ARQ ${row.uuid} is BindStarted in the read model past its deadline`);
  return violations;
}

/** No attach handle is in use without the ARQ that holds it: on the host streams and in the read models. */
export async function handlesWithoutHolder(system: FaultSystem): Promise<Violations> {
  const violations: Violations = [];
  const arqs = new Map(
    [...(await streamsOf(system, 'arq')).entries()].map(([id, events]) => [
      id.slice('arq-'.length),
      fold(events, evolveArq, initialArqState).arq,
    ]),
  );
  const allocated = new Map<string, string>();
  for (const [streamId, events] of await streamsOf(system, 'host')) {
    const host = fold(events, evolveHost, initialHostState);
    for (const handle of host.inventory.attachHandles.values()) {
      if (!handle.inUse) continue;
      allocated.set(handle.uuid, handle.allocatedTo ?? '');
      const arq = handle.allocatedTo ? arqs.get(handle.allocatedTo) : null;
      if (!arq || arq.holding?.handle.uuid !== handle.uuid) {
        violations.push(`${streamId}: handle ${handle.uuid} in use by ${handle.allocatedTo}, which does not hold it`);
      }
    }
  }
  for (const [uuid, arq] of arqs) {
    if (arq?.holding && allocated.get(arq.holding.handle.uuid) !== uuid) {
      violations.push(`ARQ ${uuid} holds handle ${arq.holding.handle.uuid}, which its host does not give it`);
    }
  }
  const rows: { uuid: string; allocated_to: string | null; holder: string | null }[] = await system.db.query(
    `SELECT h.uuid, h.allocated_to, a.uuid AS holder FROM attach_handles h
     LEFT JOIN arqs a ON a.uuid::text = h.allocated_to AND a.attach_handle_uuid = h.uuid
       AND a.state IN ('BindStarted', 'Bound', 'BindFailed')
     WHERE h.in_use`,
  );
  for (const row of rows) {
    if (!row.holder) violations.push(`read model: handle ${row.uuid} in use by ${row.allocated_to}, no such holder`);
  }
  const holders: { uuid: string; attach_handle_uuid: string }[] = await system.db.query(
    `SELECT a.uuid, a.attach_handle_uuid FROM arqs a
     LEFT JOIN attach_handles h ON h.uuid = a.attach_handle_uuid AND h.in_use AND h.allocated_to = a.uuid::text
     WHERE a.attach_handle_uuid IS NOT NULL AND h.uuid IS NULL`,
  );
  for (const row of holders) {
    violations.push(`read model: ARQ ${row.uuid} holds handle ${row.attach_handle_uuid}, not in use by it`);
  }
  return violations;
}

interface NovaExpectation {
  arq: string;
  instance: string;
  status: 'completed' | 'failed';
  why: string;
}

/** What Nova must have heard: one event per bind that ended, per the log. */
async function novaExpectations(system: FaultSystem): Promise<NovaExpectation[]> {
  const expected: NovaExpectation[] = [];
  for (const [streamId, events] of await streamsOf(system, 'arq')) {
    const arq = streamId.slice('arq-'.length);
    const instanceOf = new Map<number, string>();
    for (const event of events) {
      if (event.type === ArqBindStarted.type) {
        const d = event.data as unknown as ArqBindStartedV1;
        instanceOf.set(d.attempt, d.instanceUuid);
      } else if (event.type === ArqBound.type) {
        const d = event.data as unknown as ArqBoundV1;
        expected.push({ arq, instance: instanceOf.get(d.attempt) ?? '?', status: 'completed', why: 'Bound' });
      } else if (event.type === ArqBindFailed.type) {
        const d = event.data as unknown as ArqBindFailedV1;
        expected.push({ arq, instance: d.instanceUuid, status: 'failed', why: 'BindFailed' });
      } else if (event.type === ArqUnbound.type || event.type === ArqDeleted.type) {
        const d = event.data as unknown as ArqUnboundV1 | ArqDeletedV1;
        if (d.interruptedBind) {
          expected.push({
            arq,
            instance: d.interruptedBind.instanceUuid,
            status: 'failed',
            why: `${event.type} mid-bind`,
          });
        }
      }
    }
  }
  return expected;
}

/** Every bind that ended was told to Nova (the recording Nova accepted its event), waiting for retries in flight. */
export async function bindsNotToldToNova(system: FaultSystem, timeoutMs: number): Promise<Violations> {
  const expected = await novaExpectations(system);
  const missing = () =>
    expected.filter(
      (e) => !system.nova.eventsFor(e.arq).some((n) => n.server_uuid === e.instance && n.status === e.status),
    );
  await eventually('Nova told of every bind', async () => (missing().length === 0 ? true : undefined), timeoutMs).catch(
    () => undefined,
  );
  return missing().map((e) => `Nova never heard ${e.status} for ARQ ${e.arq} (${e.why}, instance ${e.instance})`);
}

/** How many binds the log says ended (what Nova should have heard of). */
export async function endedBinds(system: FaultSystem): Promise<number> {
  return (await novaExpectations(system)).length;
}

export interface JetStreamCheck {
  violations: Violations;
  events: number;
  messages: number;
  inLogOrder: boolean;
}

/** Every event reached JetStream exactly once: the events stream's Nats-Msg-Ids against the events table. */
export async function eventsInJetStream(system: FaultSystem, timeoutMs: number): Promise<JetStreamCheck> {
  const nc = await connectNats(system.nats.url('conductor'), 'faults-check');
  try {
    const read = async () => {
      const logged: { event_id: string }[] = await system.db.query(
        `SELECT event_id FROM events ORDER BY transaction_id, position`,
      );
      const jsm = await jetstreamManager(nc);
      const total = (await jsm.streams.info(system.eventsStream)).state.messages;
      const ids: string[] = [];
      if (total > 0) {
        const consumer = await jetstream(nc).consumers.get(system.eventsStream);
        const messages = await consumer.consume({ max_messages: 1000 });
        for await (const m of messages) {
          ids.push(m.headers?.get('Nats-Msg-Id') ?? `(no Nats-Msg-Id at ${m.seq})`);
          if (m.info.pending === 0 && ids.length >= total) break;
        }
        messages.stop();
      }
      return { logged: logged.map((r) => r.event_id), ids };
    };
    // The relay may still be catching up; once it has, the two must match exactly.
    const { logged, ids } = await eventually(
      'JetStream caught up with the log',
      async () => {
        const seen = await read();
        return seen.ids.length >= seen.logged.length ? seen : undefined;
      },
      timeoutMs,
      500,
    ).catch(() => read());
    const violations: Violations = [];
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, n] of counts) if (n > 1) violations.push(`event ${id} is in JetStream ${n} times`);
    const inLog = new Set(logged);
    for (const id of counts.keys())
      if (!inLog.has(id)) violations.push(`JetStream holds ${id}, which the log does not`);
    for (const id of logged) if (!counts.has(id)) violations.push(`event ${id} never reached JetStream`);
    const inLogOrder = ids.length === logged.length && ids.every((id, i) => id === logged[i]);
    return { violations, events: logged.length, messages: ids.length, inLogOrder };
  } finally {
    await nc.close();
  }
}

let rebuilds = 0;

/**
 * Every projection equals a rebuild from zero: the log as the live read
 * models saw it (one snapshot: events, checkpoints and tables together) is
 * copied into a fresh database of the same cluster, the projections run
 * there from the start, and every table is compared row by row.
 */
export async function projectionsUnlikeRebuild(system: FaultSystem, timeoutMs: number): Promise<Violations> {
  const tables = readModelProjections.flatMap((p) => p.tables);
  const live = await eventually(
    'a snapshot with every projection at the head',
    () =>
      system.db.transaction('REPEATABLE READ', async (tx) => {
        const events: { rows: unknown[] | null }[] = await tx.query(
          `SELECT json_agg(e ORDER BY e.transaction_id, e.position) AS rows FROM (
             SELECT * FROM events WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())) e`,
        );
        const rows = (events[0].rows ?? []) as { transaction_id: string; position: number }[];
        const last = rows[rows.length - 1];
        const checkpoints: { name: string; transaction_id: string; position: string }[] = await tx.query(
          `SELECT name, transaction_id, position FROM checkpoints WHERE name = ANY($1)`,
          [readModelProjections.map((p) => checkpointName(p))],
        );
        const atHead = checkpoints.every(
          (c) =>
            !last || (c.transaction_id === String(last.transaction_id) && Number(c.position) === Number(last.position)),
        );
        if (!atHead || checkpoints.length !== readModelProjections.length) return undefined;
        return { rows, dumps: await dumpTables(tx, tables) };
      }),
    timeoutMs,
    500,
  );

  const name = `rebuild_${++rebuilds}`;
  await system.pg.createDatabase(name);
  const url = system.pg.url(name);
  const fresh = createDataSource({
    url,
    migrations: databaseMigrations,
    poolSize: 2,
    applicationName: 'faults-rebuild',
  });
  await fresh.initialize();
  try {
    await migrate(fresh);
    for (let i = 0; i < live.rows.length; i += 2000) {
      await fresh.query(
        `INSERT INTO events OVERRIDING SYSTEM VALUE SELECT * FROM jsonb_populate_recordset(NULL::events, $1::jsonb)`,
        [JSON.stringify(live.rows.slice(i, i + 2000))],
      );
    }
    for (const projection of readModelProjections) {
      await fresh.query(`INSERT INTO checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING`, [
        checkpointName(projection),
      ]);
    }
    const store = new EventStore(fresh, EventTypeRegistry.from(eventSchemas));
    await new Projections(readModelProjections, store, { dataSource: fresh, databaseUrl: url }).drain();
    const rebuilt = await dumpTables(fresh.manager, tables);
    const violations: Violations = [];
    for (const table of tables) {
      const a = live.dumps[table];
      const b = rebuilt[table];
      if (a.length !== b.length) violations.push(`${table}: ${a.length} live rows, ${b.length} rebuilt`);
      const differing = a.findIndex((row, i) => row !== b[i]);
      if (differing >= 0) violations.push(`${table}: live ${a[differing]} but rebuilt ${b[differing] ?? '(none)'}`);
    }
    return violations;
  } finally {
    await fresh.destroy();
  }
}

async function dumpTables(
  manager: { query: (sql: string) => Promise<{ row: string }[]> },
  tables: string[],
): Promise<Record<string, string[]>> {
  const dumps: Record<string, string[]> = {};
  for (const table of tables) {
    const rows = await manager.query(`SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`);
    dumps[table] = rows.map((r) => r.row);
  }
  return dumps;
}

/**
 * Each projection took each event of its types once: the count its active
 * instances added up (`events_handled`, moved with the checkpoint in the
 * read model's transaction) equals the log's events of those types up to
 * its checkpoint. An event applied twice, by two instances or after a
 * takeover, would count twice.
 */
export async function projectionEventsHandledTwice(system: FaultSystem): Promise<Violations> {
  const violations: Violations = [];
  for (const projection of readModelProjections) {
    const rows: { handled: string; logged: string }[] = await system.db.query(
      `SELECT c.events_handled AS handled,
         (SELECT count(*) FROM events e WHERE e.type = ANY($2)
            AND (e.transaction_id, e.position) <= (c.transaction_id, c.position)) AS logged
       FROM checkpoints c WHERE c.name = $1`,
      [checkpointName(projection), projection.eventTypes],
    );
    const row = rows[0];
    if (!row) violations.push(`${projection.name}: no checkpoint`);
    else if (row.handled !== row.logged) {
      violations.push(`${projection.name}: handled ${row.handled} events, the log has ${row.logged} of its types`);
    }
  }
  return violations;
}

/** No bind attempt started or ended twice in the log (two conductors deciding one bind record it once). */
export async function bindsRecordedTwice(system: FaultSystem): Promise<Violations> {
  const rows: { stream_id: string; type: string; attempt: string; n: number }[] = await system.db.query(
    `SELECT stream_id, CASE WHEN type = $1 THEN 'start' ELSE 'end' END AS type, data->>'attempt' AS attempt,
            count(*)::int AS n
     FROM events WHERE type IN ($1, $2, $3)
     GROUP BY 1, 2, 3 HAVING count(*) > 1`,
    [ArqBindStarted.type, ArqBound.type, ArqBindFailed.type],
  );
  return rows.map((r) => `${r.stream_id}: attempt ${r.attempt} has ${r.n} events of its ${r.type}`);
}

/**
 * Nova heard each bind's end once. Telling Nova is at least once: a
 * conductor killed after Nova took a batch and before its checkpoint moved
 * leaves the batch to be sent again by the next. So a repeat is allowed
 * only across a kill of a conductor (`kills`: when they were killed): the
 * first copy accepted before it, the repeat after it.
 */
export function novaToldTwice(
  system: FaultSystem,
  kills: readonly number[],
): { violations: Violations; repeats: number } {
  const accepted = new Map<string, number[]>();
  for (const request of system.nova.requests) {
    if (request.status !== 200 && request.status !== 207) continue;
    for (const event of request.events) {
      const key = `${event.tag} ${event.server_uuid} ${event.status}`;
      accepted.set(key, [...(accepted.get(key) ?? []), request.at]);
    }
  }
  const violations: Violations = [];
  let repeats = 0;
  for (const [key, times] of accepted) {
    if (times.length < 2) continue;
    repeats += times.length - 1;
    const acrossKill = times.length === 2 && kills.some((kill) => times[0] <= kill && times[1] >= kill);
    if (!acrossKill) violations.push(`Nova heard ${key} ${times.length} times`);
  }
  return { violations, repeats };
}

/** Every stream's hash chain and version sequence verifies. */
export async function brokenChains(system: FaultSystem): Promise<Violations> {
  const result = await verifyEventLog(system.db);
  return result.breaks.map((b) => `${b.streamId} v${b.version}: ${b.problem}`);
}

export interface CopiesCheck {
  violations: Violations;
  anchors: number;
}

/**
 * The log equals its JetStream copy, event by event, and every anchor the
 * conductors published (signed with the system's key) matches the log's
 * digest at its point: `cyborg verify`'s check, once an anchor covers every
 * event the log held when this began.
 */
export async function copiesUnlikeLog(system: FaultSystem, timeoutMs: number): Promise<CopiesCheck> {
  const nc = await connectNats(system.nats.url('conductor'), 'faults-check');
  try {
    const options = system.eventsStreamOptions;
    const jsm = await jetstreamManager(nc);
    const [{ n: logged }]: { n: number }[] = await system.db.query(`SELECT count(*)::int AS n FROM events`);
    const check = async () => {
      const last = await jsm.streams
        .getMessage(anchorsStreamName(options), { last_by_subj: anchorsSubject(options) })
        .then((m) => m?.json<LogAnchor>() ?? null)
        .catch(() => null);
      const result = await verifyAgainstCopies(system.store, nc, {
        ...options,
        signingKey: system.anchorSigningKey,
      });
      return { result, anchored: last?.events ?? 0 };
    };
    // Differences never heal; a relay or anchor behind the log does, within a few anchor intervals.
    const { result, anchored } = await eventually(
      'JetStream copies and anchors cover the log',
      async () => {
        const seen = await check();
        const found = seen.result.difference !== null || seen.result.anchorProblems.length > 0;
        return found || (seen.result.relayed >= logged && seen.anchored >= logged) ? seen : undefined;
      },
      timeoutMs,
      1000,
    ).catch(() => check());
    const violations: Violations = [];
    const d = result.difference;
    if (d) violations.push(`event ${d.eventId} (${d.streamId} v${d.version}, position ${d.position}): ${d.problem}`);
    for (const a of result.anchorProblems)
      violations.push(`anchor ${a.sequence} (${a.events} events, up to position ${a.position}): ${a.problem}`);
    if (!result.signaturesChecked) violations.push('anchor signatures were not checked');
    if (result.relayed < logged) violations.push(`${result.relayed} of ${logged} events compared with JetStream`);
    if (anchored < logged) violations.push(`the newest anchor covers ${anchored} of ${logged} events`);
    return { violations, anchors: result.anchors };
  } finally {
    await nc.close();
  }
}

/** Services that are not running (they must survive every fault by themselves). */
export function deadServices(system: FaultSystem): Violations {
  return [...system.services.values()].filter((s) => !s.running).map((s) => `${s.name} is not running`);
}

export interface InvariantReport {
  violations: Record<string, Violations>;
  events: number;
  endedBinds: number;
  jetStreamInLogOrder: boolean;
  /** Anchors in the anchors stream, each checked against the log. */
  anchors: number;
  /** Bind outcomes Nova accepted again (only counted when `kills` was given). */
  novaRepeats: number;
}

export interface InvariantOptions {
  /**
   * When conductors were killed (Date.now()): with it, Nova must have heard
   * each bind's end once, but for a repeat across one of these kills.
   */
  conductorKills?: readonly number[];
}

/** Settles, then checks every invariant; a database name is returned only for the log. */
export async function checkInvariants(
  system: FaultSystem,
  settleMs = 60_000,
  options: InvariantOptions = {},
): Promise<InvariantReport> {
  await settle(system, settleMs);
  const jetStream = await eventsInJetStream(system, 30_000);
  const copies = await copiesUnlikeLog(system, 30_000);
  const report: InvariantReport = {
    violations: {
      'services alive': deadServices(system),
      'no bind past its deadline': await bindsPastDeadline(system),
      'no handle without its ARQ': await handlesWithoutHolder(system),
      'Nova told of every bind': await bindsNotToldToNova(system, 30_000),
      'each event in JetStream once': jetStream.violations,
      'log equals its JetStream copies and anchors': copies.violations,
      'projections equal a rebuild': await projectionsUnlikeRebuild(system, 30_000),
      'hash chains verify': await brokenChains(system),
      'projections took each event once': await projectionEventsHandledTwice(system),
      'no bind started or ended twice': await bindsRecordedTwice(system),
    },
    events: jetStream.events,
    endedBinds: await endedBinds(system),
    jetStreamInLogOrder: jetStream.inLogOrder,
    anchors: copies.anchors,
    novaRepeats: 0,
  };
  if (options.conductorKills) {
    const nova = novaToldTwice(system, options.conductorKills);
    report.violations['Nova told once (a repeat only across a conductor kill)'] = nova.violations;
    report.novaRepeats = nova.repeats;
  }
  return report;
}

/** A provider of a host: a deployable, with the accelerators it offers. */
interface ProviderRow {
  name: string;
  num_accelerators: number;
}

/**
 * What Placement holds under a host's compute node (its child providers and
 * their inventories' totals) beside what the reports say it should
 * (deployables with accelerators, by name), and whether placement-sync
 * has synced the host to the head of its stream.
 */
export async function placementOfHost(
  system: FaultSystem,
  host: string,
): Promise<{ synced: boolean; wanted: ProviderRow[]; held: ProviderRow[] }> {
  const wanted: ProviderRow[] = await system.db.query(
    `SELECT name, num_accelerators FROM deployables WHERE hostname = $1 AND num_accelerators > 0 ORDER BY name`,
    [host],
  );
  const nodes = await system.placement.call<{ resource_providers: { uuid: string }[] }>(
    'GET',
    `/resource_providers?name=${host}`,
  );
  const node = nodes.body.resource_providers[0].uuid;
  const tree = await system.placement.call<{
    resource_providers: { uuid: string; name: string; parent_provider_uuid: string | null }[];
  }>('GET', `/resource_providers?in_tree=${node}`);
  const held: ProviderRow[] = [];
  for (const child of tree.body.resource_providers.filter((p) => p.parent_provider_uuid === node)) {
    const inventories = await system.placement.call<{ inventories: Record<string, { total: number }> }>(
      'GET',
      `/resource_providers/${child.uuid}/inventories`,
    );
    const [inventory] = Object.values(inventories.body.inventories);
    held.push({ name: child.name, num_accelerators: inventory?.total ?? 0 });
  }
  held.sort((a, b) => (a.name < b.name ? -1 : 1));
  const status: { state: string; synced_version: number; stream_version: number }[] = await system.db.query(
    `SELECT state, synced_version, stream_version FROM placement_sync_status WHERE hostname = $1`,
    [host],
  );
  const synced = status[0]?.state === 'synced' && status[0].synced_version === status[0].stream_version;
  return { synced, wanted, held };
}

/** Lines of any service's log holding one of the system's secrets, as is, URL-encoded or in base64. */
export function secretLeaks(system: FaultSystem): string[] {
  const leaks: string[] = [];
  for (const secret of system.secrets) {
    const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')];
    for (const line of system.logs.lines) {
      if (forms.some((form) => line.line.includes(form))) leaks.push(`${line.service}: ${line.line.slice(0, 300)}`);
    }
  }
  return leaks;
}
