import { Backoff } from '@cyborg/config';
import { Logger } from '@nestjs/common';
import pg from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { primaryClient } from '../database/primary';
import { sql } from '../database/sql';
import { storeDatabase } from '../store-database';
import { APPEND_CHANNEL, type AppendSignal, type EventStore, parseAppendSignal } from '../event-store';
import { type Checkpoint, compareCheckpoints, type EventLike, LOG_START, type RecordedEvent } from '../types';
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

/** Some processors of a batch failed; the others took their events. */
class ProcessorsFailed extends Error {
  constructor(
    readonly failed: readonly Member[],
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** How often at most a processor that only moved past events of other types stores its checkpoint. */
const SKIP_PERSIST_MS = 500;
/** Retries, 1 ms doubling to 64 ms, while a transaction it was woken for is not yet readable. */
const MAX_QUICK_RETRIES = 7;
const QUICK_RETRY = { initialMs: 1, maxMs: 64 };
/** After a failed batch: 100 ms doubling to 5 s. */
const FAILURE_BACKOFF = { initialMs: 100, maxMs: 5000 };
/** How often a read-your-writes waiter asks an active runner again for a transaction it has not reached. */
const RECHECK_MS = 100;
/** How often a waiter on another process's instance reads the stored checkpoints: 2 ms doubling to 50 ms. */
const STORED_POLL = { initialMs: 2, maxMs: 50 };

/** One processor of a runner: its lock, its checkpoint in memory and as stored. */
class Member<E extends EventLike = EventLike> {
  readonly types: ReadonlySet<string> | null;
  /** This runner holds its single-active lock. */
  active = false;
  /** Where it has read to, while active. */
  checkpoint: Checkpoint | null = null;
  /** As stored: what the next store compares against. */
  stored: Checkpoint = LOG_START;
  storedAt = 0;
  /** After a failed batch of its own: not tried again before this time, backing off. */
  retryAt = 0;
  failing = false;
  readonly backoff = new Backoff(FAILURE_BACKOFF);

  constructor(readonly processor: LogProcessor<E>) {
    this.types = processor.eventTypes ? new Set(processor.eventTypes) : null;
  }

  get name(): string {
    return this.processor.name;
  }

  handles(type: string): boolean {
    return this.types === null || this.types.has(type);
  }

  reached(target: Checkpoint): boolean {
    return this.active && this.checkpoint !== null && compareCheckpoints(this.checkpoint, target) >= 0;
  }
}

interface Waiter {
  /** Wakes when every member has reached it in memory. */
  target: Checkpoint;
  members: readonly Member[];
  resolve(): void;
}

/** One processor of a runner, as its callers see it. */
export interface ProcessorView {
  readonly name: string;
  readonly isActive: boolean;
  status(): Promise<ProcessorStatus>;
  waitFor(target: Checkpoint, timeoutMs: number): Promise<boolean>;
}

/**
 * Runs LogProcessors: each with exactly one active instance across all
 * processes (a session advisory lock), catch-up from its stored checkpoint,
 * then live following woken by the appends of this process and by
 * LISTEN/NOTIFY of others', only for the event types it handles, with a
 * polling fallback.
 *
 * Several transactional processors (the read models of a service) run as
 * one: one read of the log for all their types, one transaction for all
 * that have events in it. The active instance keeps each checkpoint in
 * memory: only a batch with events to handle opens a transaction, which
 * stores the checkpoints first (a compare-and-set on the stored ones, rows
 * locked in name order before any read model, as a rebuild's swap does)
 * and then applies the events: each event takes effect exactly once. A read
 * that finds none of a processor's types moves its checkpoint in memory
 * past them, stored at most every SKIP_PERSIST_MS; nothing was handled
 * there, so a restart from the stored one only reads those events past
 * again. Read-your-writes waiters of this process wait on the checkpoints
 * in memory; those of other processes read the stored ones.
 */
export class ProcessorRunner<E extends EventLike = EventLike> {
  private readonly logger: Logger;
  private readonly members: Member<E>[];
  private running = false;
  private loop: Promise<void> | null = null;
  private session: pg.Client | null = null;
  private lockAttemptAt = 0;
  private wake: (() => void) | null = null;
  /** A wake-up that did not say which transaction came during the last batch: read again before sleeping. */
  private woken = false;
  /** The newest transaction a wake-up or waiter asked this runner to reach; 0n when none. */
  private wanted = 0n;
  private readonly waiters = new Set<Waiter>();
  /** Batches one at a time, whoever runs them (the loop, drain()). */
  private batches: Promise<unknown> = Promise.resolve();
  private stopListening: (() => void) | null = null;
  /** The store's database: checkpoints live beside the log, and a transactional batch commits with them. */
  private readonly db: DataSource;

  constructor(
    processors: LogProcessor<E> | readonly LogProcessor<E>[],
    private readonly store: EventStore<E>,
    private readonly options: ProcessorRunnerOptions,
  ) {
    this.db = storeDatabase(store);
    const list = Array.isArray(processors)
      ? (processors as readonly LogProcessor<E>[])
      : [processors as LogProcessor<E>];
    if (list.length === 0) throw new Error('a processor runner needs a processor');
    if (list.length > 1 && list.some((p) => p.delivery !== 'transactional')) {
      throw new Error('only transactional processors run together');
    }
    // Name order: the order checkpoint rows are locked in, here and by a rebuild's swap.
    this.members = list.map((p) => new Member<E>(p)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.logger = new Logger(`processor:${this.members.map((m) => m.name).join(',')}`);
  }

  /** The first processor (the only one of a runner of one). */
  get processor(): LogProcessor<E> {
    return this.members[0].processor;
  }

  /** Every processor is active here. */
  get isActive(): boolean {
    return this.members.every((m) => m.active);
  }

  /** One processor of this runner, by name. */
  member(name: string): ProcessorView | undefined {
    const member = this.members.find((m) => m.name === name);
    if (!member) return undefined;
    return {
      name,
      get isActive() {
        return member.active;
      },
      status: () => this.statusOf(member),
      waitFor: (target, timeoutMs) => this.waitOn([member], target, timeoutMs),
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    await this.db.query(`INSERT INTO checkpoints (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`, [
      this.members.map((m) => m.name),
    ]);
    this.running = true;
    // Appends of this process wake it without a round trip through PostgreSQL.
    this.stopListening = this.store.onAppended((signal) => this.signalled(signal));
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
      const n = await this.exclusive(async () => {
        let moved = this.members.some((m) => m.active) ? await this.processBatch() : 0;
        for (const member of this.members) if (!member.active) moved += await this.processStoredBatch(member);
        return moved;
      });
      if (n === 0) return total;
      total += n;
    }
  }

  /** The first processor's status (the only one of a runner of one). */
  status(): Promise<ProcessorStatus> {
    return this.statusOf(this.members[0]);
  }

  private async statusOf(member: Member<E>): Promise<ProcessorStatus> {
    const rows = await this.db.query(
      `SELECT transaction_id, position, events_handled, last_error, last_error_at FROM checkpoints WHERE name = $1`,
      [member.name],
    );
    const r = rows[0];
    return {
      name: member.name,
      active: member.active,
      checkpoint: r ? { transactionId: r.transaction_id, position: Number(r.position) } : LOG_START,
      eventsHandled: r ? Number(r.events_handled) : 0,
      lastError: r?.last_error ?? null,
      lastErrorAt: r?.last_error_at ?? null,
    };
  }

  /**
   * Resolves once every processor has handled the log up to `target` (true),
   * or false after `timeoutMs`. An active instance answers from its
   * checkpoint in memory and reads at once if it is behind; the stored
   * checkpoint is read otherwise, so it also works when another process is
   * the active instance.
   */
  waitFor(target: Checkpoint, timeoutMs: number): Promise<boolean> {
    return this.waitOn(this.members, target, timeoutMs);
  }

  private async waitOn(members: readonly Member<E>[], target: Checkpoint, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const poll = new Backoff(STORED_POLL);
    for (;;) {
      const delay = poll.next();
      // Not active here: the stored checkpoint says (another process, or none, is the active instance).
      const elsewhere = members.filter((m) => !m.active);
      const stored = await Promise.all(elsewhere.map((m) => this.statusOf(m)));
      const done = members.every(
        (m) =>
          m.reached(target) || stored.some((s) => s.name === m.name && compareCheckpoints(s.checkpoint, target) >= 0),
      );
      if (done) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      if (members.some((m) => m.active && !m.reached(target))) this.want(BigInt(target.transactionId));
      // Here the checkpoints in memory wake it; the runner may give up on a transaction it cannot read yet
      // (an older one holds the snapshot's xmin), so it is asked again now and then.
      const waitMs = elsewhere.length > 0 ? Math.min(delay, left) : Math.min(RECHECK_MS, left);
      await this.waitForProgress({ target, members, resolve: () => undefined }, waitMs);
    }
  }

  /** Until every member reached the waiter's target, a member stops being active, or `ms` pass. */
  private waitForProgress(waiter: Waiter, ms: number): Promise<void> {
    const { waiters } = this;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve();
      }
      waiter.resolve = done;
      waiters.add(waiter);
    });
  }

  /** An append committed somewhere: wake only for the types an active processor here handles. */
  private signalled(signal: AppendSignal): void {
    const { types } = signal;
    if (types && !this.members.some((m) => m.active && types.some((t) => m.handles(t)))) return;
    this.want(signal.checkpoint ? BigInt(signal.checkpoint.transactionId) : null);
  }

  /** Read again soon, and go on retrying until the transaction `tx` is read past (null: unknown). */
  private want(tx: bigint | null): void {
    if (tx === null) this.woken = true;
    else if (tx > this.wanted) this.wanted = tx;
    else return;
    this.wake?.();
  }

  private exclusive<T>(batch: () => Promise<T>): Promise<T> {
    const next = this.batches.then(batch, batch);
    this.batches = next.catch(() => undefined);
    return next;
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(FAILURE_BACKOFF);
    const quick = new Backoff(QUICK_RETRY);
    let quickRetry = 0;
    const retryQuickly = async () => {
      quickRetry++;
      await this.sleep(quick.next());
    };
    const resetQuick = () => {
      quickRetry = 0;
      quick.reset();
    };
    while (this.running) {
      try {
        await this.claimLocks();
        if (!this.members.some((m) => m.active)) {
          await this.sleep(this.pollInterval);
          continue;
        }
        const unknownWake = this.woken;
        this.woken = false;
        const moved = await this.exclusive(() => this.processBatch());
        backoff.reset();
        if (moved >= this.batchSize) continue;
        if (moved > 0) resetQuick();
        if (this.wanted > this.readTo()) {
          // Woken for a transaction this read did not reach: it committed after the read's snapshot (read
          // again now), or an older transaction still holds the snapshot's xmin (look again soon rather than
          // after a full poll).
          if (moved > 0 && quickRetry === 0) continue;
          if (quickRetry < MAX_QUICK_RETRIES) {
            await retryQuickly();
            continue;
          }
        } else if (unknownWake && moved === 0 && quickRetry < MAX_QUICK_RETRIES) {
          // Woken without knowing for which transaction, and nothing readable yet: as above, soon again.
          this.woken = true;
          await retryQuickly();
          continue;
        }
        this.wanted = 0n;
        resetQuick();
        if (this.woken) continue;
        // While one of them fails, the others' checkpoints are stored at once: a status shows them past it.
        const failing = this.members.some((m) => m.failing);
        await this.exclusive(() => this.persistSkipped(failing));
        if (this.woken || this.wanted > 0n) continue;
        const skipped = this.members.some(
          (m) => m.active && m.checkpoint && compareCheckpoints(m.checkpoint, m.stored) > 0,
        );
        const retry = Math.min(
          ...this.members.filter((m) => m.retryAt > Date.now()).map((m) => m.retryAt - Date.now()),
        );
        await this.sleep(Math.min(skipped ? SKIP_PERSIST_MS : this.pollInterval, this.pollInterval, retry));
      } catch (error) {
        if (!this.running) break;
        const message = error instanceof Error ? error.message : String(error);
        this.logger.warn({ msg: 'processor batch failed, will retry', processors: this.names, error: message });
        if (error instanceof LostOwnership) {
          await this.closeSession();
        } else {
          const failed = error instanceof ProcessorsFailed ? error.failed : this.members.filter((m) => m.active);
          // The others went on: their checkpoints are stored first, so a status that shows the error shows them past.
          await this.exclusive(() => this.persistSkipped(true)).catch(() => undefined);
          await this.recordError(failed, message);
          if (this.session === null || !(await this.sessionAlive())) await this.closeSession();
          // Those that failed wait out their own backoff; the others carry on at once.
          if (error instanceof ProcessorsFailed && failed.length < this.members.length) continue;
        }
        await this.sleep(backoff.next());
      }
    }
  }

  private get names(): string[] {
    return this.members.map((m) => m.name);
  }

  /** The transaction every active member has read past (the least of them). */
  private readTo(): bigint {
    let least: bigint | null = null;
    const now = Date.now();
    // One that waits out a failure is not read for: it does not hold the others' retries.
    for (const m of this.members) {
      if (!m.active || !m.checkpoint || m.retryAt > now) continue;
      const tx = BigInt(m.checkpoint.transactionId);
      if (least === null || tx < least) least = tx;
    }
    return least ?? 0n;
  }

  private get pollInterval(): number {
    return this.options.pollIntervalMs ?? 500;
  }

  private get batchSize(): number {
    return Math.max(...this.members.map((m) => m.processor.batchSize ?? 500));
  }

  /**
   * One batch of the active members, from the least of their checkpoints in
   * memory; returns the events handled, or 1 when they only moved past
   * others, 0 when nothing was readable.
   */
  private async processBatch(): Promise<number> {
    const { store } = this;
    const now = Date.now();
    const active = this.members.filter((m) => m.active && m.checkpoint && m.retryAt <= now);
    if (active.length === 0) return 0;
    let from = active[0].checkpoint!;
    for (const m of active) if (compareCheckpoints(m.checkpoint!, from) < 0) from = m.checkpoint!;
    const types = active.some((m) => m.types === null) ? undefined : [...new Set(active.flatMap((m) => [...m.types!]))];
    const batch = await store.readAll({ after: from, limit: this.batchSize, types });
    if (compareCheckpoints(batch.checkpoint, from) === 0) return 0;
    const work = active
      .filter((m) => compareCheckpoints(batch.checkpoint, m.checkpoint!) > 0)
      .map((member) => ({
        member,
        events: batch.events.filter((e) => member.handles(e.type) && compareCheckpoints(e, member.checkpoint!) > 0),
      }));
    const handling = work.filter((w) => w.events.length > 0);
    if (handling.length > 0) {
      const updates = handling.map((w) => ({ member: w.member, to: batch.checkpoint, handled: w.events.length }));
      if (handling[0].member.processor.delivery === 'transactional') {
        try {
          await this.applyTogether(updates, handling);
        } catch (error) {
          if (error instanceof LostOwnership) throw error;
          // One at a time, so that a processor whose batch fails holds back only itself.
          const failed: Member<E>[] = [];
          let cause: unknown = error;
          for (const w of handling) {
            try {
              await this.applyTogether([{ member: w.member, to: batch.checkpoint, handled: w.events.length }], [w]);
            } catch (alone) {
              if (alone instanceof LostOwnership) throw alone;
              failed.push(w.member);
              cause = alone;
            }
          }
          if (failed.length > 0) {
            const at = Date.now();
            for (const m of failed) {
              m.failing = true;
              m.retryAt = at + m.backoff.next();
            }
            for (const w of work) if (!failed.includes(w.member)) w.member.checkpoint = batch.checkpoint;
            this.progressed();
            throw new ProcessorsFailed(failed, cause);
          }
        }
      } else {
        // External effects: no transaction is held open while publishing, so this processor never holds
        // back the snapshot xmin that every reader depends on. Stored once they took effect: at least once.
        await handling[0].member.processor.handle(handling[0].events, this.db.manager);
        await this.storeCheckpoints(this.db.manager, updates);
      }
    }
    for (const w of work) {
      w.member.checkpoint = batch.checkpoint;
      w.member.failing = false;
      w.member.backoff.reset();
    }
    this.progressed();
    return Math.max(1, batch.events.length);
  }

  /** The events of several transactional processors and their checkpoints, in one transaction. */
  private async applyTogether(
    updates: readonly { member: Member<E>; to: Checkpoint; handled: number }[],
    handling: readonly { member: Member<E>; events: RecordedEvent<E>[] }[],
  ): Promise<void> {
    const before = updates.map((u) => ({ at: u.member.stored, storedAt: u.member.storedAt }));
    try {
      await this.db.transaction(async (tx) => {
        await this.storeCheckpoints(tx, updates);
        for (const w of handling) await w.member.processor.handle(w.events, tx);
      });
    } catch (error) {
      // Rolled back: the stored checkpoints are where they were.
      updates.forEach((u, i) => ((u.member.stored = before[i].at), (u.member.storedAt = before[i].storedAt)));
      throw error;
    }
  }

  /** A batch of one member from its stored checkpoint, for drain() without the lock (tests, one-off catch-up). */
  private async processStoredBatch(member: Member<E>): Promise<number> {
    const { store } = this;
    const { processor } = member;
    const run = async (tx: EntityManager) => {
      const from = await this.readCheckpoint(tx, member, processor.delivery === 'transactional');
      member.stored = from;
      const batch = await store.readAll({ after: from, limit: this.batchSize, types: processor.eventTypes }, tx);
      if (compareCheckpoints(batch.checkpoint, from) === 0) return 0;
      if (batch.events.length > 0) await processor.handle(batch.events, tx);
      await this.storeCheckpoints(tx, [{ member, to: batch.checkpoint, handled: batch.events.length }]);
      return batch.events.length || 1;
    };
    return processor.delivery === 'transactional' ? this.db.transaction(run) : run(this.db.manager);
  }

  /** Checkpoints in memory moved: wake the waiters they brought to their target. */
  private progressed(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.members.every((m) => m.reached(waiter.target))) waiter.resolve();
    }
  }

  /** Stores checkpoints that only moved past other types' events, at most every SKIP_PERSIST_MS unless `now`. */
  private async persistSkipped(now = false): Promise<void> {
    const at = Date.now();
    const due = this.members.filter(
      (m) =>
        m.active &&
        m.checkpoint &&
        compareCheckpoints(m.checkpoint, m.stored) > 0 &&
        (now || at - m.storedAt >= SKIP_PERSIST_MS),
    );
    if (due.length === 0) return;
    await this.storeCheckpoints(
      this.db.manager,
      due.map((member) => ({ member, to: member.checkpoint!, handled: 0 })),
    );
  }

  private async readCheckpoint(tx: EntityManager, member: Member<E>, lock: boolean): Promise<Checkpoint> {
    const rows = await tx.query(
      `SELECT transaction_id, position FROM checkpoints WHERE name = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [member.name],
    );
    if (!rows[0]) throw new Error(`checkpoint ${member.name} is missing`);
    return { transactionId: rows[0].transaction_id, position: Number(rows[0].position) };
  }

  /**
   * Compare-and-set on the stored checkpoints, in one statement, rows locked
   * in name order: fails if another instance (or a rebuild's swap) moved one
   * of them meanwhile.
   */
  private async storeCheckpoints(
    tx: EntityManager,
    updates: readonly { member: Member<E>; to: Checkpoint; handled: number }[],
  ): Promise<void> {
    const moving = updates.filter((u) => compareCheckpoints(u.to, u.member.stored) > 0);
    if (moving.length === 0) return;
    const column = <T>(f: (u: (typeof moving)[number]) => T) => moving.map(f);
    const { count } = await sql(
      tx,
      `WITH wanted AS (
         SELECT * FROM unnest($1::text[], $2::xid8[], $3::bigint[], $4::xid8[], $5::bigint[], $6::bigint[])
           AS u(name, from_tx, from_position, to_tx, to_position, handled)),
       locked AS (
         SELECT c.name FROM checkpoints c JOIN wanted w USING (name) ORDER BY c.name FOR UPDATE OF c)
       UPDATE checkpoints c SET transaction_id = w.to_tx, position = w.to_position,
         events_handled = c.events_handled + w.handled, updated_at = now(), last_error = NULL, last_error_at = NULL
       FROM wanted w
       WHERE c.name = w.name AND c.name IN (SELECT name FROM locked)
         AND c.transaction_id = w.from_tx AND c.position = w.from_position`,
      [
        column((u) => u.member.name),
        column((u) => u.member.stored.transactionId),
        column((u) => u.member.stored.position),
        column((u) => u.to.transactionId),
        column((u) => u.to.position),
        column((u) => u.handled),
      ],
    );
    if (count !== moving.length) {
      throw new LostOwnership(
        `a checkpoint of ${moving.map((u) => u.member.name).join(', ')} moved under this instance`,
      );
    }
    // Inside a transaction that may yet roll back: the caller puts them back then.
    const now = Date.now();
    for (const u of moving) {
      u.member.stored = u.to;
      u.member.storedAt = now;
    }
    // Waiters on members not active here read the stored checkpoints: let them look again.
    if (moving.some((u) => !u.member.active)) {
      for (const waiter of [...this.waiters]) waiter.resolve();
    }
  }

  private async recordError(members: readonly Member<E>[], message: string): Promise<void> {
    await this.db
      .query(`UPDATE checkpoints SET last_error = $2, last_error_at = now() WHERE name = ANY ($1::text[])`, [
        members.map((m) => m.name),
        message.slice(0, 2000),
      ])
      .catch(() => undefined);
  }

  /**
   * Opens the session (LISTEN) if needed and takes the locks of the members
   * not active, every poll interval: the longest a standby waits once the
   * active instance's session is gone.
   */
  private async claimLocks(): Promise<void> {
    if (this.session && this.members.every((m) => m.active)) return;
    if (this.session && Date.now() - this.lockAttemptAt < this.pollInterval) return;
    this.lockAttemptAt = Date.now();
    const session = this.session ?? (await this.openSession());
    const waiting = this.members.filter((m) => !m.active);
    const { rows } = await session.query<{ name: string; locked: boolean }>(
      `SELECT n.name, pg_try_advisory_lock($1, hashtext(n.name)) AS locked FROM unnest($2::text[]) AS n(name)`,
      [LOCK_NAMESPACE, waiting.map((m) => m.name)],
    );
    const claimed = waiting.filter((m) => rows.some((r) => r.name === m.name && r.locked));
    // A standby keeps its session for the next attempt: a takeover then waits for no connection.
    if (claimed.length === 0) return;
    // Under the lock nobody else moves a checkpoint, so it can live in memory.
    const stored: { name: string; transaction_id: string; position: string }[] = await this.db.query(
      `SELECT name, transaction_id, position FROM checkpoints WHERE name = ANY ($1::text[])`,
      [claimed.map((m) => m.name)],
    );
    for (const member of claimed) {
      const row = stored.find((r) => r.name === member.name);
      if (!row) throw new Error(`checkpoint ${member.name} is missing`);
      member.stored = { transactionId: row.transaction_id, position: Number(row.position) };
      member.storedAt = Date.now();
      member.checkpoint = member.stored;
      member.active = true;
      this.logger.log({ msg: 'processor active', processor: member.name });
    }
  }

  private async openSession(): Promise<pg.Client> {
    const session = primaryClient(this.options.databaseUrl, {
      application_name: `cyborg:${this.names.join(',')}`.slice(0, 63),
    });
    const lost = () => {
      if (this.session === session) this.session = null;
      this.deactivate();
      this.wake?.();
    };
    session.on('error', lost);
    session.on('end', lost);
    try {
      await session.connect();
      session.on('notification', (message) => {
        const signal = parseAppendSignal(message.payload);
        // Appends of stores that share this process's wake-ups reached it already.
        if (signal && signal.sender !== this.store.wakeTag) this.signalled(signal);
      });
      await session.query(`LISTEN ${APPEND_CHANNEL}`);
    } catch (error) {
      await session.end().catch(() => undefined);
      throw error;
    }
    this.session = session;
    return session;
  }

  private deactivate(): void {
    for (const member of this.members) {
      member.active = false;
      member.checkpoint = null;
    }
    // Waiters on the checkpoints in memory go on with the stored ones.
    for (const waiter of [...this.waiters]) waiter.resolve();
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
    this.deactivate();
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
