import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { EntityManager } from 'typeorm';
import { sql } from '../database/sql';
import type { EventStore } from '../event-store';
import { type Checkpoint, compareCheckpoints, LOG_START } from '../types';
import type { LogProcessor } from './log-processor';

export interface ProcessorStatus {
  name: string;
  active: boolean;
  checkpoint: Checkpoint;
  eventsHandled: number;
  lastError: string | null;
  lastErrorAt: Date | null;
}

export interface ProcessorRunnerOptions {
  /** Longest wait between reads when no notification arrives. */
  pollIntervalMs?: number;
  /** A connection string for the session that holds the lock and listens. */
  databaseUrl: string;
}

const LOCK_NAMESPACE = 0x43594247; // "CYBG": keeps our advisory locks apart from others'

/** The first key of every single-active lock: the second is hashtext(name). */
export const PROCESSOR_LOCK_NAMESPACE = LOCK_NAMESPACE;

/**
 * Which of `names` some session of this database holds the single-active
 * lock of now, in any process: the active instance of a processor, or a
 * job (a rebuild) that locks a name the same way.
 */
export async function heldLocks(manager: EntityManager, names: readonly string[]): Promise<Set<string>> {
  const rows: { name: string }[] = await manager.query(
    `SELECT n.name FROM unnest($2::text[]) AS n(name)
     WHERE EXISTS (
       SELECT 1 FROM pg_locks l
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid = $1::bigint::oid AND l.objid = (hashtext(n.name)::bigint & 4294967295)::oid)`,
    [LOCK_NAMESPACE, names],
  );
  return new Set(rows.map((r) => r.name));
}

class LostOwnership extends Error {}

/**
 * Runs one LogProcessor: exactly one active instance across all processes
 * (a session advisory lock), catch-up from the stored checkpoint, then live
 * following woken by LISTEN/NOTIFY with a polling fallback.
 */
export class ProcessorRunner {
  private readonly logger: Logger;
  private running = false;
  private loop: Promise<void> | null = null;
  private session: pg.Client | null = null;
  private active = false;
  private wake: (() => void) | null = null;
  private notified = false;
  private readonly waiters = new Set<() => void>();
  private stopListening: (() => void) | null = null;

  constructor(
    readonly processor: LogProcessor,
    private readonly store: EventStore,
    private readonly options: ProcessorRunnerOptions,
  ) {
    this.logger = new Logger(`processor:${processor.name}`);
  }

  get isActive(): boolean {
    return this.active;
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.store.dataSource.query(
      `INSERT INTO checkpoints (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`,
      [this.processor.name],
    );
    this.running = true;
    // Appends of this process wake it without a round trip through PostgreSQL.
    this.stopListening = this.store.onAppended(() => {
      this.notified = true;
      this.wake?.();
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopListening?.();
    this.stopListening = null;
    this.wake?.();
    await this.loop;
    this.loop = null;
    await this.closeSession();
  }

  /** Processes whatever is readable now; used by tests and by rebuilds. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.processBatch();
      if (n === 0) return total;
      total += n;
    }
  }

  async status(): Promise<ProcessorStatus> {
    const rows = await this.store.dataSource.query(
      `SELECT transaction_id, position, events_handled, last_error, last_error_at FROM checkpoints WHERE name = $1`,
      [this.processor.name],
    );
    const r = rows[0];
    return {
      name: this.processor.name,
      active: this.active,
      checkpoint: r ? { transactionId: r.transaction_id, position: Number(r.position) } : LOG_START,
      eventsHandled: r ? Number(r.events_handled) : 0,
      lastError: r?.last_error ?? null,
      lastErrorAt: r?.last_error_at ?? null,
    };
  }

  /**
   * Resolves once this processor has handled the log up to `target` (true), or
   * false after `timeoutMs`. Reads the stored checkpoint, so it also works
   * when another process is the active instance.
   */
  async waitFor(target: Checkpoint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      const { checkpoint } = await this.status();
      if (compareCheckpoints(checkpoint, target) >= 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(delay, left));
        this.waiters.add(done);
      });
    }
  }

  private async run(): Promise<void> {
    let backoff = 100;
    let quickRetry = 0;
    while (this.running) {
      try {
        if (!this.active) {
          await this.becomeActive();
          if (!this.active) {
            await this.sleep(this.pollInterval);
            continue;
          }
        }
        const handled = await this.processBatch();
        backoff = 100;
        if (handled > 0) {
          quickRetry = 0;
          continue;
        }
        // Woken but nothing readable yet: an older transaction still holds the
        // snapshot's xmin. Look again soon rather than after a full poll.
        if (this.notified && quickRetry < 6) {
          this.notified = false;
          quickRetry++;
          await this.sleep(2 ** quickRetry);
          this.notified = true;
          continue;
        }
        this.notified = false;
        quickRetry = 0;
        await this.sleep(this.pollInterval);
      } catch (error) {
        if (!this.running) break;
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn({ msg: 'processor batch failed, will retry', processor: this.processor.name, error: message });
        if (error instanceof LostOwnership) {
          await this.closeSession();
        } else {
          await this.recordError(message);
          if (this.session === null || !(await this.sessionAlive())) await this.closeSession();
        }
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private get pollInterval(): number {
    return this.options.pollIntervalMs ?? 500;
  }

  /** Handles one batch; returns how many log rows it moved past. */
  private async processBatch(): Promise<number> {
    const { processor, store } = this;
    if (processor.delivery === 'transactional') {
      return store.dataSource.transaction(async (tx) => {
        const from = await this.readCheckpoint(tx, true);
        const batch = await store.readAll({ after: from, limit: processor.batchSize ?? 500, types: processor.eventTypes }, tx);
        if (compareCheckpoints(batch.checkpoint, from) === 0) return 0;
        if (batch.events.length > 0) await processor.handle(batch.events, tx);
        await this.saveCheckpoint(tx, from, batch.checkpoint, batch.events.length);
        return batch.events.length || 1;
      });
    }
    // External effects: no transaction is held open while publishing, so this
    // processor never holds back the snapshot xmin that every reader depends on.
    const manager = store.dataSource.manager;
    const from = await this.readCheckpoint(manager, false);
    const batch = await store.readAll({ after: from, limit: processor.batchSize ?? 500, types: processor.eventTypes });
    if (compareCheckpoints(batch.checkpoint, from) === 0) return 0;
    if (batch.events.length > 0) await processor.handle(batch.events, manager);
    await this.saveCheckpoint(manager, from, batch.checkpoint, batch.events.length);
    return batch.events.length || 1;
  }

  private async readCheckpoint(tx: EntityManager, lock: boolean): Promise<Checkpoint> {
    const rows = await tx.query(
      `SELECT transaction_id, position FROM checkpoints WHERE name = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [this.processor.name],
    );
    if (!rows[0]) throw new Error(`checkpoint ${this.processor.name} is missing`);
    return { transactionId: rows[0].transaction_id, position: Number(rows[0].position) };
  }

  /** Compare-and-set: fails if another instance moved the checkpoint meanwhile. */
  private async saveCheckpoint(tx: EntityManager, from: Checkpoint, to: Checkpoint, handled: number): Promise<void> {
    const { count } = await sql(
      tx,
      `UPDATE checkpoints SET transaction_id = $4, position = $5, events_handled = events_handled + $6,
         updated_at = now(), last_error = NULL, last_error_at = NULL
       WHERE name = $1 AND transaction_id = $2 AND position = $3`,
      [this.processor.name, from.transactionId, from.position, to.transactionId, to.position, handled],
    );
    if (count !== 1) throw new LostOwnership(`checkpoint of ${this.processor.name} moved under this instance`);
    for (const waiter of [...this.waiters]) waiter();
  }

  private async recordError(message: string): Promise<void> {
    await this.store.dataSource
      .query(`UPDATE checkpoints SET last_error = $2, last_error_at = now() WHERE name = $1`, [
        this.processor.name,
        message.slice(0, 2000),
      ])
      .catch(() => undefined);
  }

  private async becomeActive(): Promise<void> {
    const session = new pg.Client({ connectionString: this.options.databaseUrl, application_name: `cyborg:${this.processor.name}` });
    session.on('error', () => {
      this.active = false;
      this.wake?.();
    });
    session.on('end', () => {
      this.active = false;
      this.wake?.();
    });
    try {
      await session.connect();
      const { rows } = await session.query(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked`, [
        LOCK_NAMESPACE,
        this.processor.name,
      ]);
      if (!rows[0].locked) {
        await session.end();
        return;
      }
      session.on('notification', () => {
        this.notified = true;
        this.wake?.();
      });
      await session.query('LISTEN cyborg_events');
      this.session = session;
      this.active = true;
      this.logger.log({ msg: 'processor active', processor: this.processor.name });
    } catch (error) {
      await session.end().catch(() => undefined);
      throw error;
    }
  }

  private async sessionAlive(): Promise<boolean> {
    try {
      await this.session?.query('SELECT 1');
      return this.session !== null;
    } catch {
      return false;
    }
  }

  private async closeSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    this.active = false;
    if (session) await session.end().catch(() => undefined);
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
