import pg from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import {
  type Checkpoint,
  compareCheckpoints,
  type EventLike,
  type EventStore,
  LOG_START,
  PROCESSOR_LOCK_NAMESPACE,
  primaryClient,
  type ReadAllResult,
  type RecordedEvent,
} from '@cyborg/event-store';
import { applyEvents, type Projection } from '../projection';

export type RebuildPhase = 'preparing' | 'catching-up' | 'indexing' | 'swapping' | 'done' | 'failed';

export interface RebuildProgress {
  projections: string[];
  phase: RebuildPhase;
  /** Log events read so far (one shared pass for every projection rebuilt). */
  eventsRead: number;
  /** Events in the log when the rebuild started; the log may grow meanwhile. */
  eventsTotal: number;
  checkpoint: Checkpoint;
  elapsedMs: number;
}

export interface RebuildResult {
  projections: string[];
  eventsRead: number;
  /** Events each projection applied (the log events of its types). */
  eventsApplied: Record<string, number>;
  /** Where the new read models stand; the live runner carries on from here. */
  checkpoint: Checkpoint;
  seconds: number;
  /** How long the swap held the read models' tables and checkpoints. */
  swapMs: number;
}

export interface RebuildOptions {
  /** The database of the read models (the log's): the new tables are filled and swapped in there. */
  dataSource: DataSource;
  /** Connection for the session that holds the rebuild locks. */
  databaseUrl: string;
  /** Log events per read and per transaction while catching up. */
  batchSize?: number;
  /** Longest wait for the live tables in the swap before trying again (readers in a long query). */
  lockTimeoutMs?: number;
  onProgress?: (progress: RebuildProgress) => void;
}

/** Another process is rebuilding one of these projections now. */
export class RebuildInProgressError extends Error {}

export const REBUILD_SCHEMA_PREFIX = 'projection_rebuild_';
const RETIRED_SCHEMA_PREFIX = 'projection_retired_';
const SWAP_ATTEMPTS = 5;

export function rebuildLockName(projection: Pick<Projection<EventLike>, 'name'> | string): string {
  return `rebuild:projection:${typeof projection === 'string' ? projection : projection.name}`;
}

export function projectionCheckpointName(projection: Pick<Projection<EventLike>, 'name'> | string): string {
  return `projection:${typeof projection === 'string' ? projection : projection.name}`;
}

interface Shadow<E extends EventLike> {
  projection: Projection<E>;
  types: ReadonlySet<string>;
  schema: string;
  retired: string;
  /** Each table, the schema of its live copy, and what its definition was when the copy was made. */
  tables: { name: string; live: string; signature: string }[];
  /** CREATE INDEX statements run once the shadow tables are filled: cheaper than keeping them up. */
  deferredIndexes: string[];
  applied: number;
}

/**
 * Blue/green rebuild of read models while the live ones keep serving. The new
 * tables are built in a schema of their own (`projection_rebuild_<name>`) by
 * one shared pass over the log, in large set-based batches; then one short
 * transaction applies the events that arrived meanwhile, swaps the tables
 * (readers see the old rows, then the new, never an empty table) and moves
 * the live checkpoint to where the new tables stand.
 *
 * The live runner of a projection may be active in another process; the
 * rebuild does not take its lock. Every batch of the runner that writes
 * begins by locking the projections' checkpoint rows, so the swap, which
 * locks those rows first,
 * waits for a batch in flight and holds the next one back until the new
 * tables and checkpoint are in place; that batch then goes on from the new
 * checkpoint into the new tables.
 */
export async function rebuildProjections<E extends EventLike>(
  store: EventStore<E>,
  projections: readonly Projection<E>[],
  options: RebuildOptions,
): Promise<RebuildResult> {
  if (projections.length === 0) throw new Error('no projection to rebuild');
  const started = Date.now();
  const ds = options.dataSource;
  const batchSize = options.batchSize ?? 5000;
  const names = projections.map((p) => p.name);
  const locks = await lockRebuilds(options.databaseUrl, projections);
  const shadows: Shadow<E>[] = [];
  let checkpoint: Checkpoint = LOG_START;
  let eventsRead = 0;
  let eventsTotal = 0;
  let phase: RebuildPhase = 'preparing';
  /** The services' search_path; a shadow's schema goes in front of it while its projection applies. */
  let liveSearchPath = '';

  const progress = (next: RebuildPhase = phase) => {
    phase = next;
    options.onProgress?.({
      projections: names,
      phase,
      eventsRead,
      eventsTotal,
      checkpoint,
      elapsedMs: Date.now() - started,
    });
  };
  const record = (tx: EntityManager) =>
    tx.query(
      `UPDATE projection_rebuilds SET phase = $2, events_read = $3, events_total = $4, transaction_id = $5,
         position = $6, updated_at = now() WHERE projection = ANY($1)`,
      [names, phase, eventsRead, eventsTotal, checkpoint.transactionId, checkpoint.position],
    );

  /** Applies one page of the log to every shadow, in `tx`; returns how many events each applied. */
  const applyPage = async (events: readonly RecordedEvent<E>[], tx: EntityManager): Promise<number[]> => {
    const applied: number[] = [];
    for (const shadow of shadows) {
      const mine = events.filter((e) => shadow.types.has(e.type));
      await tx.query(`SELECT set_config('search_path', $1, true)`, [`${ident(shadow.schema)}, ${liveSearchPath}`]);
      await applyEvents(shadow.projection, mine, tx);
      applied.push(mine.length);
    }
    await tx.query(`SELECT set_config('search_path', $1, true)`, [liveSearchPath]);
    return applied;
  };

  /** Reads the log from the checkpoint into the shadows, a page per transaction, reading ahead while applying. */
  const catchUp = async () => {
    let pending: Promise<ReadAllResult<E>> | null = store.readAll({ after: checkpoint, limit: batchSize });
    try {
      while (pending) {
        const page: ReadAllResult<E> = await pending;
        const full = page.events.length >= batchSize;
        pending = full ? store.readAll({ after: page.checkpoint, limit: batchSize }) : null;
        if (compareCheckpoints(page.checkpoint, checkpoint) === 0) break;
        await ds.transaction(async (tx) => {
          // A rebuild that dies starts again from nothing: its commits need not wait for the disk.
          await tx.query(`SET LOCAL synchronous_commit = off`);
          const applied = await applyPage(page.events, tx);
          applied.forEach((n, i) => (shadows[i].applied += n));
          eventsRead += page.events.length;
          checkpoint = page.checkpoint;
          await record(tx);
        });
        progress();
      }
    } finally {
      // A page read ahead of a batch that failed: nobody waits for it any more.
      pending?.catch(() => undefined);
    }
  };

  /** The one short transaction: the tail of the log, then tables and checkpoints change places. */
  const swap = async (): Promise<number> => {
    const t0 = Date.now();
    let tail = checkpoint;
    const tailApplied = shadows.map(() => 0);
    let tailRead = 0;
    await ds.transaction(async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs ?? 3000))}`);
      const checkpointNames = shadows.map((shadow) => projectionCheckpointName(shadow.projection));
      await tx.query(`INSERT INTO checkpoints (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING`, [
        checkpointNames,
      ]);
      // The live runner locks these rows (in name order, as here) before it writes a read model: from here
      // on none of its batches runs until the swap commits.
      await tx.query(`SELECT 1 FROM checkpoints WHERE name = ANY ($1::text[]) ORDER BY name FOR UPDATE`, [
        checkpointNames,
      ]);
      for (;;) {
        const page = await store.readAll({ after: tail, limit: batchSize }, tx);
        if (compareCheckpoints(page.checkpoint, tail) === 0) break;
        const applied = await applyPage(page.events, tx);
        applied.forEach((n, i) => (tailApplied[i] += n));
        tailRead += page.events.length;
        tail = page.checkpoint;
      }
      for (const shadow of shadows) {
        await tx.query(`CREATE SCHEMA ${ident(shadow.retired)}`);
        for (const table of shadow.tables) {
          const live = `${ident(table.live)}.${ident(table.name)}`;
          await tx.query(`LOCK TABLE ${live} IN ACCESS EXCLUSIVE MODE`);
          if ((await tableSignature(tx, live)) !== table.signature) {
            throw new Error(`table ${table.name} changed during the rebuild (a migration?): run the rebuild again`);
          }
          await tx.query(`ALTER TABLE ${ident(table.live)}.${ident(table.name)} SET SCHEMA ${ident(shadow.retired)}`);
          await tx.query(`ALTER TABLE ${ident(shadow.schema)}.${ident(table.name)} SET SCHEMA ${ident(table.live)}`);
        }
        await tx.query(`DROP SCHEMA ${ident(shadow.retired)} CASCADE`);
        await tx.query(`DROP SCHEMA ${ident(shadow.schema)}`);
        await tx.query(
          `UPDATE checkpoints SET transaction_id = $2, position = $3, events_handled = $4, updated_at = now(),
             last_error = NULL, last_error_at = NULL WHERE name = $1`,
          [
            projectionCheckpointName(shadow.projection),
            tail.transactionId,
            tail.position,
            shadow.applied + tailApplied[shadows.indexOf(shadow)],
          ],
        );
      }
      await tx.query(
        `UPDATE projection_rebuilds SET state = 'done', phase = 'done', events_read = $2, transaction_id = $3,
           position = $4, finished_at = now(), updated_at = now() WHERE projection = ANY($1)`,
        [names, eventsRead + tailRead, tail.transactionId, tail.position],
      );
    });
    // Committed: the tail is part of the result now.
    checkpoint = tail;
    eventsRead += tailRead;
    tailApplied.forEach((n, i) => (shadows[i].applied += n));
    return Date.now() - t0;
  };

  try {
    liveSearchPath = (await ds.query(`SELECT current_setting('search_path') AS path`))[0].path;
    const counted = await ds.query(`SELECT count(*)::bigint AS n FROM events`);
    eventsTotal = Number(counted[0].n);
    await ds.query(
      `INSERT INTO projection_rebuilds (projection, state, phase, events_total)
       SELECT unnest($1::text[]), 'running', 'preparing', $2
       ON CONFLICT (projection) DO UPDATE SET state = 'running', phase = 'preparing', events_read = 0,
         events_total = $2, transaction_id = '0', position = 0, started_at = now(), finished_at = NULL,
         updated_at = now(), last_error = NULL`,
      [names, eventsTotal],
    );
    progress('preparing');
    for (const projection of projections) shadows.push(await prepareShadow(ds.manager, projection));

    progress('catching-up');
    await catchUp();

    progress('indexing');
    for (const shadow of shadows) {
      for (const statement of shadow.deferredIndexes) await ds.query(statement);
      for (const table of shadow.tables) await ds.query(`ANALYZE ${ident(shadow.schema)}.${ident(table.name)}`);
    }
    progress('catching-up');
    await catchUp();

    progress('swapping');
    let swapMs = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        swapMs = await swap();
        break;
      } catch (error) {
        // Readers held a live table past the lock timeout: catch up again and retry, rather than stall them.
        if (!isLockTimeout(error) || attempt >= SWAP_ATTEMPTS) throw error;
        await catchUp();
      }
    }
    progress('done');
    return {
      projections: names,
      eventsRead,
      eventsApplied: Object.fromEntries(shadows.map((s) => [s.projection.name, s.applied])),
      checkpoint,
      seconds: (Date.now() - started) / 1000,
      swapMs,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await ds
      .query(
        `UPDATE projection_rebuilds SET state = 'failed', phase = $2, last_error = $3, finished_at = now(),
           updated_at = now() WHERE projection = ANY($1)`,
        [names, phase, message.slice(0, 2000)],
      )
      .catch(() => undefined);
    for (const shadow of shadows)
      await ds.query(`DROP SCHEMA IF EXISTS ${ident(shadow.schema)} CASCADE`).catch(() => undefined);
    progress('failed');
    throw error;
  } finally {
    await locks.end().catch(() => undefined);
  }
}

/** Takes every projection's rebuild lock on a session of its own, or none. */
async function lockRebuilds(
  databaseUrl: string,
  projections: readonly Pick<Projection<EventLike>, 'name'>[],
): Promise<pg.Client> {
  const session = primaryClient(databaseUrl, { application_name: 'cyborg:rebuild' });
  session.on('error', () => undefined);
  await session.connect();
  try {
    for (const projection of projections) {
      const { rows } = await session.query(`SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked`, [
        PROCESSOR_LOCK_NAMESPACE,
        rebuildLockName(projection),
      ]);
      if (!rows[0].locked) throw new RebuildInProgressError(`a rebuild of ${projection.name} is already running`);
    }
    return session;
  } catch (error) {
    await session.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Empty copies of a projection's tables in its rebuild schema: the live
 * tables' columns, defaults, checks, keys and unique indexes, under their own
 * names (they keep them after the swap); other indexes come once the tables are filled.
 */
async function prepareShadow<E extends EventLike>(
  manager: EntityManager,
  projection: Projection<E>,
): Promise<Shadow<E>> {
  const schema = `${REBUILD_SCHEMA_PREFIX}${projection.name}`;
  const retired = `${RETIRED_SCHEMA_PREFIX}${projection.name}`;
  // Left behind by a rebuild that died; nobody else uses them while this rebuild holds its lock.
  await manager.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
  await manager.query(`DROP SCHEMA IF EXISTS ${ident(retired)} CASCADE`);
  await manager.query(`CREATE SCHEMA ${ident(schema)}`);
  const shadow: Shadow<E> = {
    projection,
    types: new Set(projection.eventTypes),
    schema,
    retired,
    tables: [],
    deferredIndexes: [],
    applied: 0,
  };
  for (const table of projection.tables) {
    const found: { oid: number; schema: string }[] = await manager.query(
      `SELECT c.oid::int AS oid, n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.oid = to_regclass($1)`,
      [ident(table)],
    );
    if (!found[0]) throw new Error(`table ${table} of projection ${projection.name} does not exist: run migrate`);
    const { oid, schema: live } = found[0];
    const source = `${ident(live)}.${ident(table)}`;
    const target = `${ident(schema)}.${ident(table)}`;
    await manager.query(
      `CREATE TABLE ${target} (LIKE ${source} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED
         INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)`,
    );
    const constraints: { name: string; definition: string }[] = await manager.query(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
       WHERE conrelid = $1::oid AND contype IN ('p', 'u', 'x') ORDER BY conname`,
      [oid],
    );
    for (const c of constraints)
      await manager.query(`ALTER TABLE ${target} ADD CONSTRAINT ${ident(c.name)} ${c.definition}`);
    const indexes: { definition: string; unique: boolean; qualified: string }[] = await manager.query(
      `SELECT pg_get_indexdef(i.indexrelid) AS definition, i.indisunique AS unique,
              quote_ident($2) || '.' || quote_ident($3) AS qualified
       FROM pg_index i WHERE i.indrelid = $1::oid
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = $1::oid)
       ORDER BY i.indexrelid`,
      [oid, live, table],
    );
    for (const index of indexes) {
      const on = ` ON ${index.qualified} `;
      if (!index.definition.includes(on)) throw new Error(`cannot copy index of ${table}: ${index.definition}`);
      const statement = index.definition.replace(on, ` ON ${target} `);
      // Unique indexes decide what a batch may write: they are there from the start.
      if (index.unique) await manager.query(statement);
      else shadow.deferredIndexes.push(statement);
    }
    await copyAccess(manager, oid, target);
    shadow.tables.push({ name: table, live, signature: await tableSignature(manager, source) });
  }
  return shadow;
}

/** The live table's owner and grants, for services that connect as another role than the rebuild's. */
async function copyAccess(manager: EntityManager, oid: number, target: string): Promise<void> {
  const [{ owner }]: { owner: string }[] = await manager.query(
    `SELECT quote_ident(pg_get_userbyid(relowner)) AS owner FROM pg_class WHERE oid = $1::oid`,
    [oid],
  );
  await manager.query(`ALTER TABLE ${target} OWNER TO ${owner}`);
  const grants: { privilege: string; grantee: string }[] = await manager.query(
    `SELECT a.privilege_type AS privilege,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee
     FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = $1::oid AND a.grantee <> c.relowner`,
    [oid],
  );
  for (const g of grants) await manager.query(`GRANT ${g.privilege} ON ${target} TO ${g.grantee}`);
}

/** Columns, defaults, constraints and indexes of a table, in one string: equal strings, same definition. */
async function tableSignature(manager: EntityManager, table: string): Promise<string> {
  const rows: { signature: string | null }[] = await manager.query(
    `SELECT to_regclass($1)::oid::text || '|' ||
       coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull ||
                                   ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped), '') || '|' ||
       coalesce((SELECT string_agg(pg_get_constraintdef(oid), ', ' ORDER BY conname)
                 FROM pg_constraint WHERE conrelid = to_regclass($1)), '') || '|' ||
       coalesce((SELECT string_agg(pg_get_indexdef(indexrelid), ', ' ORDER BY indexrelid)
                 FROM pg_index WHERE indrelid = to_regclass($1)), '') AS signature`,
    [table],
  );
  return rows[0].signature ?? '';
}

function isLockTimeout(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string } };
  return e?.code === '55P03' || e?.driverError?.code === '55P03';
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
