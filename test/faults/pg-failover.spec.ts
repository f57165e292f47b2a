import { ArqBindStarted, ArqCreated, ArqDeleted } from '@cyborg/contracts';
import { createDataSource, primaryClient } from '@cyborg/event-store';
import { type Acknowledgement, ArqLoad, fakeFpgaLoad } from './support/arq-load';
import { BIND_TIMEOUT_MS, DATABASE, FaultSystem, HOSTS } from './support/fault-system';
import { checkInvariants, eventually, secretLeaks } from './support/invariants';

/**
 * PostgreSQL failover under a steady load of ARQ lifecycles: the services
 * reach a primary with a synchronous streaming standby through a
 * multi-host DATABASE_URL (`target_session_attrs=read-write`). The primary
 * is crashed and stays down (fenced); the standby is promoted. The
 * services must find the new primary by themselves, and every command the
 * API acknowledged must be in its log.
 */
let system: FaultSystem;
let load: ArqLoad;
const figures: Record<string, unknown> = {};

const SETTLE_MS = BIND_TIMEOUT_MS * 3 + 30_000;
/** No primary at all for a while, as while a failover manager decides: the services must keep looking. */
const LEADERLESS_MS = 2_000;

/** What each acknowledged step must have left in the ARQ's stream. */
const EVIDENCE: Record<Acknowledgement['step'], string> = {
  created: ArqCreated.type,
  'bind accepted': ArqBindStarted.type,
  deleted: ArqDeleted.type,
};

/** Acknowledged commands whose event is not in the log of the database the system reads now. */
async function lostAcknowledgements(acknowledged: Acknowledgement[]): Promise<string[]> {
  const rows: { stream_id: string; types: string[] }[] = await system.db.query(
    `SELECT stream_id, array_agg(type) AS types FROM events WHERE stream_id = ANY($1) GROUP BY stream_id`,
    [[...new Set(acknowledged.map((a) => `arq-${a.arq}`))]],
  );
  const logged = new Map(rows.map((r) => [r.stream_id, new Set(r.types)]));
  return acknowledged
    .filter((a) => !logged.get(`arq-${a.arq}`)?.has(EVIDENCE[a.step]))
    .map((a) => `ARQ ${a.arq}: ${a.step} was acknowledged, no ${EVIDENCE[a.step]} in the log`);
}

beforeAll(async () => {
  system = await FaultSystem.start({ standby: true });
  ({ load } = await fakeFpgaLoad(system, 'failover-fpga', HOSTS));
}, 300_000);

afterAll(async () => {
  await load?.stop();
  if (system) {
    console.log(`failover figures: ${JSON.stringify(figures, null, 1)}\nservice logs: ${system.logs.file}`);
    await system.close();
  }
});

it('keeps only sessions that can write: a standby named first in the URL is passed over, a standby alone refused', async () => {
  const standby = system.standby!;
  const url = (ports: number[]) =>
    `postgresql://postgres:${encodeURIComponent(system.pg.password)}@${ports.map((p) => `127.0.0.1:${p}`).join(',')}/${DATABASE}?target_session_attrs=read-write`;
  const standbyFirst = createDataSource({
    url: url([standby.port, system.pg.port]),
    poolSize: 2,
    applicationName: 'faults-order',
  });
  await standbyFirst.initialize();
  try {
    const rows: { port: number; recovery: boolean }[] = await standbyFirst.query(
      `SELECT inet_server_port() AS port, pg_is_in_recovery() AS recovery`,
    );
    expect(rows[0]).toEqual({ port: system.pg.port, recovery: false });
  } finally {
    await standbyFirst.destroy();
  }
  const alone = primaryClient(url([standby.port]), { application_name: 'faults-order' });
  const refused = await alone.connect().then(
    () => null,
    (error: Error & { code?: string }) => error,
  );
  await alone.end().catch(() => undefined);
  expect(refused?.code).toBe('08001');
  expect(refused?.message).toMatch(
    new RegExp(`no read-write PostgreSQL server .*127\\.0\\.0\\.1:${standby.port} is read-only`),
  );
  expect(refused?.message).not.toContain(system.pg.password);
});

it('survives losing the primary: the synchronous standby is promoted, the services find it, nothing acknowledged is lost', async () => {
  const oldPrimary = system.pg;
  load.start();
  await load.completed(load.done.length, 10);

  // A crash (no checkpoint, every session cut); the old primary is never started again: fenced.
  const killedAt = Date.now();
  await oldPrimary.stop('immediate');
  const stoppedAt = Date.now();
  await new Promise((r) => setTimeout(r, LEADERLESS_MS));
  const leaderlessAcknowledged = load.acknowledged.filter((a) => a.sentAt >= stoppedAt).length;
  await system.promoteStandby();
  const promotedAt = Date.now();

  const first = await eventually(
    'a command acknowledged after the primary was lost',
    async () => load.acknowledged.find((a) => a.sentAt >= stoppedAt),
    120_000,
  );
  // Nothing can commit without a primary: no acknowledgement came from the standby meanwhile.
  expect(leaderlessAcknowledged).toBe(0);
  await load.completed(load.done.length, 20, 180_000);
  await load.stop();
  expect(load.problems).toEqual([]);

  const report = await checkInvariants(system, SETTLE_MS);
  const broken = Object.fromEntries(Object.entries(report.violations).filter(([, list]) => list.length > 0));
  expect(broken).toEqual({});
  // The log's order (transaction id, position) held across the switch: JetStream got it in that order.
  expect(report.jetStreamInLogOrder).toBe(true);
  figures.anchors = report.anchors;
  expect(await lostAcknowledgements(load.acknowledged)).toEqual([]);
  const acknowledgedBeforeLoss = load.acknowledged.filter((a) => a.answeredAt <= killedAt).length;
  expect(acknowledgedBeforeLoss).toBeGreaterThan(0);

  // The lease holders and listeners moved too: placement-sync's lock session and the processors' are on the new primary.
  const sessions = await eventually(
    'the services’ lock sessions on the new primary',
    async () => {
      const rows: { application_name: string }[] = await system.db.query(
        `SELECT DISTINCT a.application_name FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
         WHERE l.locktype = 'advisory' AND l.granted AND a.datname = $1 AND a.application_name LIKE 'cyborg:%'`,
        [DATABASE],
      );
      const names = rows.map((r) => r.application_name);
      return names.includes('cyborg:placement-sync') && names.length > 1 ? names : undefined;
    },
    60_000,
  );

  figures.failover = {
    msFromKillToFirstAcknowledgedCommand: first.answeredAt - killedAt,
    msFromPromotionToFirstAcknowledgedCommand: first.answeredAt - promotedAt,
    msToStopPrimary: stoppedAt - killedAt,
    msWithoutPrimary: LEADERLESS_MS,
    msToPromoteStandby: promotedAt - stoppedAt - LEADERLESS_MS,
    firstAcknowledged: first.step,
    lifecycles: load.done.length,
    acknowledgedCommands: load.acknowledged.length,
    acknowledgedBeforeLoss,
    retriedRequests: load.done.reduce((n, l) => n + l.retries, 0),
    staleReads: load.staleReads,
    events: report.events,
    endedBinds: report.endedBinds,
    lockSessionsOnNewPrimary: sessions.length,
  };
});

it('never writes a secret to any log, the multi-host DATABASE_URL included', () => {
  const lines = system.logs.lines;
  expect(lines.some((l) => /"level":"(warn|error)"/.test(l.line))).toBe(true);
  expect(secretLeaks(system)).toEqual([]);
});
