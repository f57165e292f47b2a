import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { eventSchemas, HostRegistered } from '@cyborg/contracts';
import {
  createDataSource,
  DurableEventConsumer,
  ensureEventsStream,
  EventStore,
  EventTypeRegistry,
  JetStreamRelay,
  migrate,
  ProcessorRunner,
  type RelayedEvent,
} from '@cyborg/event-store';
import { connectNats } from '@cyborg/messaging';
import { databaseMigrations } from '@cyborg/projections';
import { ArqLoad, fakeFpgaLoad } from './support/arq-load';
import { BIND_TIMEOUT_MS, FaultSystem, HOSTS } from './support/fault-system';
import { checkInvariants, eventsInJetStream, eventually, placementOfHost } from './support/invariants';

/**
 * The system on a three-server NATS cluster (deploy/nats/nats-cluster.conf),
 * the events stream and placement-sync's consumer at 3 replicas, under a
 * stream name and subject prefix of its own. Under a steady load of ARQ
 * lifecycles the JetStream meta leader is killed (-9) and brought back,
 * then the events stream's leader; every invariant must hold afterwards.
 * Then a second deployment on the same servers, with its own stream and
 * prefix, must not see the first one's events, nor they its.
 */
const STREAM = 'FAULTS_CLUSTER_EVENTS';
const PREFIX = 'faults-cluster.events';
/** A second deployment on the same servers, with a user of its own as the deploy config would give it. */
const OTHER = { streamName: 'FAULTS_OTHER_EVENTS', subjectPrefix: 'faults-other.events', replicas: 3 };
const OTHER_USER = 'other-deployment';
const PLACEMENT_SYNC_CONSUMER = 'placement-sync';
const SETTLE_MS = BIND_TIMEOUT_MS * 3 + 30_000;

let system: FaultSystem;
let load: ArqLoad;
let nc: NatsConnection;
const figures: Record<string, unknown> = {};
/** When each server was killed. */
const kills: number[] = [];

beforeAll(async () => {
  system = await FaultSystem.start({
    natsCluster: {
      streamName: STREAM,
      subjectPrefix: PREFIX,
      extraUsers: {
        [OTHER_USER]: {
          publish: [`${OTHER.subjectPrefix}.>`, '$JS.API.>', `$JS.ACK.${OTHER.streamName}.>`],
          subscribe: ['_INBOX.>'],
        },
      },
    },
  });
  nc = await connectNats(system.nats.url('conductor'), 'faults-cluster-check');
  ({ load } = await fakeFpgaLoad(system, 'faults-cluster-fpga', HOSTS));
}, 300_000);

afterAll(async () => {
  await load?.stop();
  await nc?.close().catch(() => undefined);
  if (system) {
    console.log(`NATS cluster figures: ${JSON.stringify(figures, null, 1)}\nservice logs: ${system.logs.file}`);
    await system.close();
  }
});

/** JetStream API calls of the checks answer (or fail) within a second, so that polls measure finely. */
const manager = () => jetstreamManager(nc, { timeout: 1000 });

/** The stream's leader, its last sequence, and whether every replica has caught up. */
async function streamCluster(): Promise<{ leader?: string; replicas: number; current: boolean; lastSeq: number }> {
  const info = await (await manager()).streams.info(STREAM);
  const peers = info.cluster?.replicas ?? [];
  return {
    leader: info.cluster?.leader,
    replicas: peers.length + 1,
    current: peers.every((p) => p.current),
    lastSeq: info.state.last_seq,
  };
}

/** Every server up, one meta leader agreed on, the stream's three replicas current. */
async function clusterWhole(): Promise<void> {
  await eventually(
    'the cluster whole again',
    async () => {
      const meta = await system.natsCluster.metaLeader();
      const stream = await streamCluster();
      return meta && stream.leader && stream.replicas === 3 && stream.current ? true : undefined;
    },
    60_000,
    250,
  );
}

/** Whether the relay's checkpoint (moved once JetStream acknowledged a batch) is past `head`. */
async function relayedPast(head: { transactionId: string; position: number }): Promise<boolean> {
  const rows: { past: boolean }[] = await system.db.query(
    `SELECT (transaction_id, position) > ($1::xid8, $2::bigint) AS past FROM checkpoints WHERE name = 'relay:jetstream'`,
    [head.transactionId, head.position],
  );
  return rows[0]?.past === true;
}

/** Milliseconds from `since` until `probe` holds. */
async function msUntil(what: string, since: number, probe: () => Promise<boolean>): Promise<number> {
  await eventually(what, async () => ((await probe()) ? true : undefined), 120_000, 100);
  return Date.now() - since;
}

/**
 * kill -9 one server while binds run; measure how long until a lifecycle
 * begun after the kill ended Bound, until the relay stored new events again,
 * and until the stream's info named a live leader (that answer needs a meta
 * leader too); then bring the server back.
 */
async function killUnderLoad(what: string, server: string): Promise<void> {
  const before = await streamCluster();
  const killedAt = Date.now();
  // The log's head as the server dies: the relay resumed once it stored an event appended after it.
  const head = await system.store.head();
  kills.push(killedAt);
  await system.natsCluster.killNode(server);
  const [bindsResumedAfterMs, relayResumedAfterMs, streamLeaderAfterMs] = await Promise.all([
    msUntil(`a bind begun after ${server} died to end Bound`, killedAt, async () =>
      load.done.some((l) => l.resolved === 'Bound' && l.endedAt - l.ms >= killedAt),
    ),
    msUntil(`the relay storing events after ${server} died`, killedAt, () => relayedPast(head)),
    msUntil(`a leader of ${STREAM} other than ${server}`, killedAt, async () => {
      const { leader } = await streamCluster();
      return leader !== undefined && leader !== server;
    }),
  ]);
  const after = await streamCluster();
  await load.completed(load.done.length, 5);
  const downMs = Date.now() - killedAt;
  const restartedAt = Date.now();
  await system.natsCluster.startNode(server);
  await clusterWhole();
  figures[what] = {
    server,
    streamLeaderBefore: before.leader,
    streamLeaderAfter: after.leader,
    bindsResumedAfterMs,
    relayResumedAfterMs,
    streamLeaderAfterMs,
    downMs,
    wholeAgainAfterRestartMs: Date.now() - restartedAt,
  };
}

it('runs the events stream and placement-sync consumer at 3 replicas on the cluster', async () => {
  const jsm = await jetstreamManager(nc);
  const stream = await jsm.streams.info(STREAM);
  expect(stream.config.num_replicas).toBe(3);
  expect(stream.config.subjects).toEqual([`${PREFIX}.>`]);
  expect(stream.cluster?.replicas).toHaveLength(2);
  const consumer = await eventually(
    'placement-sync consumer',
    () => jsm.consumers.info(STREAM, PLACEMENT_SYNC_CONSUMER),
    30_000,
  );
  expect(consumer.config.num_replicas).toBe(3);
  expect(consumer.config.filter_subject).toBe(`${PREFIX}.host.>`);
  expect(consumer.cluster?.replicas).toHaveLength(2);
});

it('survives kill -9 of the JetStream meta leader, then of the events stream leader, under load', async () => {
  load.start();
  await load.completed(0, 10);
  await clusterWhole();

  // The meta leader alone first: if it also leads the events stream, that leadership moves elsewhere.
  const metaLeader = await eventually('a meta leader', () => system.natsCluster.metaLeader(), 30_000);
  if ((await streamCluster()).leader === metaLeader) {
    await nc.request(`$JS.API.STREAM.LEADER.STEPDOWN.${STREAM}`, '', { timeout: 10_000 });
    await eventually(
      `${STREAM} led by a server other than the meta leader`,
      async () => {
        const stream = await streamCluster();
        return stream.leader && stream.leader !== metaLeader && stream.current ? true : undefined;
      },
      60_000,
      250,
    );
  }
  await killUnderLoad('meta leader killed', metaLeader);
  await load.completed(load.done.length, 5);

  const { leader: streamLeader } = await streamCluster();
  await killUnderLoad('stream leader killed', streamLeader!);
  expect(figures['stream leader killed']).toMatchObject({ server: streamLeader });
  await load.completed(load.done.length, 10);

  await load.stop();
  expect(load.problems).toEqual([]);
  const report = await checkInvariants(system, SETTLE_MS);
  const broken = Object.fromEntries(Object.entries(report.violations).filter(([, list]) => list.length > 0));
  figures.run = {
    lifecycles: load.done.length,
    retriedRequests: load.done.reduce((n, l) => n + l.retries, 0),
    events: report.events,
    endedBinds: report.endedBinds,
    jetStreamInLogOrder: report.jetStreamInLogOrder,
    anchors: report.anchors,
  };
  expect(broken).toEqual({});

  // Placement equals the reports: every host synced to the head of its stream, its providers' inventories as reported.
  for (const host of HOSTS) {
    await eventually(
      `Placement equal to the reports of ${host}`,
      async () => {
        const { synced, wanted, held } = await placementOfHost(system, host);
        return synced && wanted.length > 0 && JSON.stringify(held) === JSON.stringify(wanted) ? true : undefined;
      },
      60_000,
      500,
    );
  }

  // Still three replicas of each after both leaders moved.
  const jsm = await jetstreamManager(nc);
  expect((await jsm.streams.info(STREAM)).config.num_replicas).toBe(3);
  expect((await jsm.consumers.info(STREAM, PLACEMENT_SYNC_CONSUMER)).config.num_replicas).toBe(3);
});

it('scales an events stream and its durable consumer made at 1 replica to 3 when JETSTREAM_REPLICAS says so', async () => {
  const scaled = { streamName: 'FAULTS_SCALED_EVENTS', subjectPrefix: 'faults-scaled.events' };
  const consumer = (replicas: number) =>
    new DurableEventConsumer(nc, {
      ...scaled,
      replicas,
      durableName: 'faults-scaled',
      filterSubject: `${scaled.subjectPrefix}.host.>`,
      onEvent: () => undefined,
    });
  const jsm = await jetstreamManager(nc);
  try {
    await consumer(1).ensure();
    expect((await jsm.streams.info(scaled.streamName)).config.num_replicas).toBe(1);
    expect((await jsm.consumers.info(scaled.streamName, 'faults-scaled')).config.num_replicas).toBe(1);
    // An older deployment's stream and consumer, started again with JETSTREAM_REPLICAS=3.
    await consumer(3).ensure();
    await eventually(
      'the scaled stream with three current replicas',
      async () => {
        const info = await jsm.streams.info(scaled.streamName);
        const peers = info.cluster?.replicas ?? [];
        return info.config.num_replicas === 3 && peers.length === 2 && peers.every((p) => p.current) ? true : undefined;
      },
      60_000,
      250,
    );
    const scaledConsumer = await jsm.consumers.info(scaled.streamName, 'faults-scaled');
    expect(scaledConsumer.config.num_replicas).toBe(3);
  } finally {
    await jsm.streams.delete(scaled.streamName).catch(() => undefined);
  }
});

it('keeps two deployments on one NATS apart by stream name and subject prefix', async () => {
  // A second deployment: its own log, relayed by the same code under its own stream and prefix.
  const other = OTHER;
  await system.pg.createDatabase('other_deployment');
  const url = system.pg.url('other_deployment');
  const db = createDataSource({ url, migrations: databaseMigrations, poolSize: 2, applicationName: 'faults-other' });
  await db.initialize();
  const otherNc = await connectNats(system.natsCluster.url(OTHER_USER), 'faults-other');
  const store = new EventStore(db, EventTypeRegistry.from(eventSchemas));
  const runner = new ProcessorRunner(new JetStreamRelay(otherNc, other), store, {
    databaseUrl: url,
    pollIntervalMs: 100,
  });
  const seenByOther: RelayedEvent[] = [];
  const consumer = new DurableEventConsumer(otherNc, {
    ...other,
    durableName: 'faults-other-placement-sync',
    filterSubject: `${other.subjectPrefix}.host.>`,
    onEvent: (event) => {
      seenByOther.push(event);
    },
  });
  try {
    await migrate(db);
    const host = `other-${randomUUID().slice(0, 8)}`;
    const { events } = await store.append([
      {
        streamId: `host-${host}`,
        expectedVersion: 0,
        events: [{ type: HostRegistered.type, data: { hostname: host, drivers: ['fake'], agentVersion: 'test' } }],
      },
    ]);
    await runner.start();
    await consumer.start();
    await eventually(
      'the other deployment to receive its own host event',
      async () => (seenByOther.length > 0 ? true : undefined),
      30_000,
    );

    // The other deployment saw only its event; its stream holds only its log.
    expect(seenByOther.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    const jsm = await jetstreamManager(otherNc);
    const otherStream = await jsm.streams.info(other.streamName);
    expect(otherStream.config.num_replicas).toBe(3);
    expect(otherStream.state.messages).toBe(1);
    const stored = await jetstream(otherNc).consumers.get(other.streamName);
    const message = await stored.next({ expires: 5000 });
    expect(message?.headers?.get('Nats-Msg-Id')).toBe(events[0].eventId);

    // This deployment's stream holds its own log exactly, none of the other's; its placement-sync never heard of the host.
    const mine = await eventsInJetStream(system, 30_000);
    expect(mine.violations).toEqual([]);
    expect(await system.db.query(`SELECT hostname FROM placement_sync_status WHERE hostname = $1`, [host])).toEqual([]);

    // A stream of the other's name but this deployment's prefix is refused, not shared.
    await expect(ensureEventsStream(nc, { streamName: other.streamName, subjectPrefix: PREFIX })).rejects.toThrow(
      /belongs to another deployment/,
    );
  } finally {
    await consumer.stop();
    await runner.stop();
    await otherNc.close().catch(() => undefined);
    await db.destroy();
  }
});

it("keeps every service inside its NATS user's permissions, written for this deployment's prefix and stream", () => {
  // An agent's reply to the conductor on the server it reached after its own died is refused by NATS (the
  // right to answer lives on the server the request came through); the conductor asks again. Only that is allowed.
  const agentReplyAfterKill = (l: { service: string; line: string; at: number }) =>
    (HOSTS as readonly string[]).includes(l.service) &&
    /Permissions Violation for Publish to \\?"_INBOX\./.test(l.line) &&
    kills.some((at) => l.at >= at && l.at - at < 10_000);
  const violations = system.logs.lines.filter((l) => /Permissions Violation/i.test(l.line));
  figures.agentRepliesRefusedAfterKills = violations.filter(agentReplyAfterKill).length;
  expect(violations.filter((l) => !agentReplyAfterKill(l)).map((l) => `${l.service}: ${l.line.slice(0, 300)}`)).toEqual(
    [],
  );
});
