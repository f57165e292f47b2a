import type { CyborgEvent } from '@cyborg/contracts';
import {
  type Checkpoint,
  type EventLike,
  type EventStore,
  heldLocks,
  type LogProcessor,
  ProcessorRunner,
  type ProcessorStatus,
  type ProcessorView,
  type RecordedEvent,
} from '@cyborg/event-store';
import type { DataSource, EntityManager } from 'typeorm';
import { applyEvents, type Projection } from './projection';
import {
  projectionCheckpointName,
  type RebuildOptions,
  type RebuildPhase,
  type RebuildResult,
  rebuildLockName,
  rebuildProjections,
} from './rebuild/blue-green-rebuild';

/** The latest blue/green rebuild of a projection, as recorded in `projection_rebuilds`. */
export interface RebuildRecord {
  state: 'running' | 'done' | 'failed';
  phase: RebuildPhase;
  eventsRead: number;
  eventsTotal: number;
  checkpoint: Checkpoint;
  startedAt: Date;
  finishedAt: Date | null;
  lastError: string | null;
}

export interface ProjectionStatus extends ProcessorStatus {
  /** Events in the log that this projection has not yet read past. */
  lag: number;
  /** A rebuild of this projection runs now, in some process. */
  rebuilding: boolean;
  /** The latest rebuild, running or ended; null if none ever ran. */
  rebuild: RebuildRecord | null;
}

export interface ProjectionsOptions {
  /** The database of the read models and their checkpoints (the log's). */
  dataSource: DataSource;
  /** A connection string for the session that holds the single-active locks and listens. */
  databaseUrl: string;
  pollIntervalMs?: number;
  batchSize?: number;
}

/**
 * Runs every projection of a service, each a single-active log processor,
 * all read and applied together: one read of the log and one transaction
 * for a batch, whichever of them it concerns.
 */
export class Projections<E extends EventLike = CyborgEvent> {
  /** Null without projections. */
  private readonly group: ProcessorRunner<E> | null;
  private readonly views = new Map<string, ProcessorView>();

  constructor(
    readonly projections: readonly Projection<E>[],
    private readonly store: EventStore<E>,
    private readonly options: ProjectionsOptions,
  ) {
    const processors = projections.map((projection): LogProcessor<E> => ({
      name: checkpointName(projection),
      eventTypes: projection.eventTypes,
      delivery: 'transactional',
      batchSize: options.batchSize,
      handle: (events: RecordedEvent<E>[], tx: EntityManager) => applyEvents(projection, events, tx),
    }));
    this.group = processors.length > 0 ? new ProcessorRunner(processors, store, options) : null;
    for (const projection of projections) {
      this.views.set(projection.name, this.group!.member(checkpointName(projection))!);
    }
  }

  async start(): Promise<void> {
    await this.group?.start();
  }

  async stop(): Promise<void> {
    await this.group?.stop();
  }

  /** Handles everything readable now in every projection (tests, CLI). */
  async drain(): Promise<void> {
    await this.group?.drain();
  }

  /** Read-your-writes: waits until every projection has read past `target`. */
  async waitFor(target: Checkpoint | null, timeoutMs = 2000): Promise<boolean> {
    if (!target) return true;
    return this.group ? this.group.waitFor(target, timeoutMs) : true;
  }

  /**
   * Where each projection stands, seen from any process: its checkpoint and
   * lag behind the log's head, the last error of its active instance,
   * whether an instance (here or elsewhere) is active, and its rebuilds.
   */
  async status(): Promise<ProjectionStatus[]> {
    const ds = this.options.dataSource;
    const head = await this.store.head();
    const names = this.projections.map((p) => p.name);
    const held = await heldLocks(ds.manager, [
      ...names.map((n) => projectionCheckpointName(n)),
      ...names.map((n) => rebuildLockName(n)),
    ]);
    const rebuilds: RebuildRow[] = await ds.query(
      `SELECT projection, state, phase, events_read, events_total, transaction_id, position, started_at,
              finished_at, last_error FROM projection_rebuilds WHERE projection = ANY($1)`,
      [names],
    );
    return Promise.all(
      this.projections.map(async (projection) => {
        const runner = this.views.get(projection.name)!;
        const status = await runner.status();
        const row = rebuilds.find((r) => r.projection === projection.name);
        return {
          ...status,
          active: runner.isActive || held.has(checkpointName(projection)),
          lag: await countBetween(ds, status.checkpoint, head),
          rebuilding: held.has(rebuildLockName(projection)),
          rebuild: row ? toRebuildRecord(row) : null,
        };
      }),
    );
  }

  /**
   * Rebuilds the named projections (all when none is named) blue/green: new
   * tables beside the live ones, filled by one shared pass over the log and
   * swapped in when caught up. The live read models keep serving throughout.
   */
  async rebuild(
    names?: string | readonly string[],
    options: Omit<RebuildOptions, 'databaseUrl' | 'dataSource'> = {},
  ): Promise<RebuildResult> {
    const wanted =
      names === undefined ? this.projections.map((p) => p.name) : typeof names === 'string' ? [names] : names;
    const chosen = wanted.map((name) => {
      const projection = this.projections.find((p) => p.name === name);
      if (!projection)
        throw new UnknownProjectionError(
          name,
          this.projections.map((p) => p.name),
        );
      return projection;
    });
    const { dataSource, databaseUrl } = this.options;
    return rebuildProjections(this.store, chosen, { dataSource, databaseUrl, ...options });
  }

  /** One projection's processor: whether it is active here, its status, read-your-writes on it alone. */
  runner(name: string): ProcessorView | undefined {
    return this.views.get(name);
  }
}

export class UnknownProjectionError extends Error {
  constructor(
    readonly projection: string,
    readonly known: readonly string[],
  ) {
    super(`no projection named ${projection} (known: ${known.join(', ')})`);
  }
}

export function checkpointName(projection: Pick<Projection<EventLike>, 'name'>): string {
  return projectionCheckpointName(projection);
}

interface RebuildRow {
  projection: string;
  state: RebuildRecord['state'];
  phase: RebuildPhase;
  events_read: string;
  events_total: string;
  transaction_id: string;
  position: string;
  started_at: Date;
  finished_at: Date | null;
  last_error: string | null;
}

function toRebuildRecord(r: RebuildRow): RebuildRecord {
  return {
    state: r.state,
    phase: r.phase,
    eventsRead: Number(r.events_read),
    eventsTotal: Number(r.events_total),
    checkpoint: { transactionId: r.transaction_id, position: Number(r.position) },
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    lastError: r.last_error,
  };
}

async function countBetween(ds: DataSource, from: Checkpoint, to: Checkpoint): Promise<number> {
  const rows = await ds.query(
    `SELECT count(*)::int AS n FROM events
     WHERE (transaction_id, position) > ($1::xid8, $2::bigint) AND (transaction_id, position) <= ($3::xid8, $4::bigint)`,
    [from.transactionId, from.position, to.transactionId, to.position],
  );
  return rows[0].n;
}
