import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { HostHeartbeatsSilent1795250000000 } from './database/migrations/1795250000000-host-heartbeats-silent';
import { HostHeartbeats } from './host-heartbeats';

/**
 * Heartbeat stamps against the real PostgreSQL: heartbeats that arrive while
 * a statement runs go together in the next one, each is answered, and a
 * check's finding is reported until a heartbeat has looked at it.
 */
let db: TestDatabase;
let heartbeats: HostHeartbeats;
const statements: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  // Counts the statements the real DataSource is sent.
  const query = db.dataSource.query.bind(db.dataSource);
  db.dataSource.query = ((sql: string, parameters?: unknown[]) => {
    statements.push(sql);
    return query(sql, parameters);
  }) as typeof db.dataSource.query;
  heartbeats = new HostHeartbeats(db.dataSource);
});

afterAll(async () => {
  await db?.drop();
});

async function row(hostname: string): Promise<{ silent_checks: number; silent_checks_seen: number } | undefined> {
  const rows = await db.dataSource.query(
    `SELECT silent_checks, silent_checks_seen FROM host_heartbeats WHERE hostname = $1`,
    [hostname],
  );
  return rows[0];
}

describe('HostHeartbeats', () => {
  it('stamps heartbeats that arrive together in one statement after the first, each host once', async () => {
    statements.length = 0;
    const hostnames = Array.from({ length: 300 }, (_, i) => `hb-batch-${i}`);
    // Each host twice, all at once: the first goes alone, the rest wait for it and go together.
    const answers = await Promise.all([...hostnames, ...hostnames].map((h) => heartbeats.heard(h)));
    expect(answers).toHaveLength(600);
    expect(answers.every((a) => a.silentCheck === null)).toBe(true);
    expect(statements.filter((s) => s.includes('INSERT INTO host_heartbeats'))).toHaveLength(2);
    const [{ n }] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM host_heartbeats WHERE hostname LIKE 'hb-batch-%'`,
    );
    expect(n).toBe(300);
  });

  it('reports a silent check to heartbeats until one has looked at it', async () => {
    const host = 'hb-silent-0';
    await heartbeats.heard(host);
    await db.dataSource.query(
      `UPDATE host_heartbeats SET last_seen_at = now() - interval '1 hour' WHERE hostname = $1`,
      [host],
    );
    expect((await heartbeats.silentFor(60_000)).map((s) => s.hostname)).toContain(host);
    await heartbeats.markSilent(host);
    // Found once: later checks skip it.
    expect((await heartbeats.silentFor(60_000)).map((s) => s.hostname)).not.toContain(host);

    const first = await heartbeats.heard(host);
    expect(first.silentCheck).toBe(1);
    // Not looked at yet: the next heartbeat is told again.
    expect((await heartbeats.heard(host)).silentCheck).toBe(1);
    await heartbeats.seenSilentCheck(host, first.silentCheck!);
    expect((await heartbeats.heard(host)).silentCheck).toBeNull();
    expect(await row(host)).toEqual({ silent_checks: 1, silent_checks_seen: 1 });

    // A check that records the host down after a heartbeat looked still reaches the next heartbeat.
    await heartbeats.markSilent(host);
    await heartbeats.seenSilentCheck(host, 1);
    expect((await heartbeats.heard(host)).silentCheck).toBe(2);
  });

  it('the migration counts rows from before it as found once, so their next heartbeat reads the stream', async () => {
    const migration = new HostHeartbeatsSilent1795250000000();
    const runner = db.dataSource.createQueryRunner();
    try {
      await migration.down(runner);
      await runner.query(`INSERT INTO host_heartbeats (hostname, last_seen_at) VALUES ('hb-old-0', now())`);
      await migration.up(runner);
    } finally {
      await runner.release();
    }
    expect(await row('hb-old-0')).toEqual({ silent_checks: 1, silent_checks_seen: 0 });
    expect((await heartbeats.heard('hb-old-0')).silentCheck).toBe(1);
    expect((await heartbeats.heard('hb-new-0')).silentCheck).toBeNull();
    expect(await row('hb-new-0')).toEqual({ silent_checks: 0, silent_checks_seen: 0 });
  });
});
