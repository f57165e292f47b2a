import {
  type Checkpoint,
  type EventStore,
  LOG_START,
  type LogProcessor,
  ProcessorRunner,
  type ProcessorStatus,
  type RecordedEvent,
  sql,
} from '@cyborg/event-store';
import type { EntityManager } from 'typeorm';
import type { Projection } from './projection';

export interface ProjectionStatus extends ProcessorStatus {
  /** Events in the log that this projection has not yet read past. */
  lag: number;
}

/** Runs every projection of a service, each as its own single-active log processor. */
export class Projections {
  private readonly runners = new Map<string, ProcessorRunner>();

  constructor(
    readonly projections: readonly Projection[],
    private readonly store: EventStore,
    options: { databaseUrl: string; pollIntervalMs?: number },
  ) {
    for (const projection of projections) {
      const processor: LogProcessor = {
        name: checkpointName(projection),
        eventTypes: projection.eventTypes,
        delivery: 'transactional',
        async handle(events: RecordedEvent[], tx: EntityManager) {
          for (const event of events) await projection.apply(event, tx);
        },
      };
      this.runners.set(projection.name, new ProcessorRunner(processor, store, options));
    }
  }

  async start(): Promise<void> {
    for (const runner of this.runners.values()) await runner.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
  }

  /** Handles everything readable now in every projection (tests, CLI). */
  async drain(): Promise<void> {
    for (const runner of this.runners.values()) await runner.drain();
  }

  /** Read-your-writes: waits until every projection has read past `target`. */
  async waitFor(target: Checkpoint | null, timeoutMs = 2000): Promise<boolean> {
    if (!target) return true;
    const results = await Promise.all([...this.runners.values()].map((r) => r.waitFor(target, timeoutMs)));
    return results.every(Boolean);
  }

  async status(): Promise<ProjectionStatus[]> {
    const head = await this.store.head();
    return Promise.all(
      [...this.runners.values()].map(async (runner) => {
        const status = await runner.status();
        return { ...status, lag: await countBetween(this.store, status.checkpoint, head) };
      }),
    );
  }

  /**
   * Empties a projection's tables and rewinds its checkpoint in one
   * transaction; the active instance then replays the log from the start.
   */
  async rebuild(name: string): Promise<void> {
    const projection = this.projections.find((p) => p.name === name);
    if (!projection) throw new Error(`no projection named ${name}`);
    await this.store.dataSource.transaction(async (tx) => {
      // Waits for a batch in flight; that batch's checkpoint write then fails, and it rolls back.
      await tx.query(`SELECT 1 FROM checkpoints WHERE name = $1 FOR UPDATE`, [checkpointName(projection)]);
      for (const table of projection.tables) await tx.query(`TRUNCATE ${table}`);
      await sql(
        tx,
        `UPDATE checkpoints SET transaction_id = $2, position = $3, events_handled = 0, updated_at = now(),
           last_error = NULL, last_error_at = NULL WHERE name = $1`,
        [checkpointName(projection), LOG_START.transactionId, LOG_START.position],
      );
    });
  }

  runner(name: string): ProcessorRunner | undefined {
    return this.runners.get(name);
  }
}

export function checkpointName(projection: Projection): string {
  return `projection:${projection.name}`;
}

async function countBetween(store: EventStore, from: Checkpoint, to: Checkpoint): Promise<number> {
  const rows = await store.dataSource.query(
    `SELECT count(*)::int AS n FROM events
     WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND (transaction_id, position) <= ($3::xid8, $4::bigint)`,
    [from.transactionId, from.position, to.transactionId, to.position],
  );
  return rows[0].n;
}
