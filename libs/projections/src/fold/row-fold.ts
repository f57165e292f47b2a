import type { EntityManager } from 'typeorm';

/** A column value as JSON carries it to PostgreSQL (json_populate_recordset) and back (to_jsonb). */
export type ColumnValue = string | number | boolean | null | ColumnValue[] | { [key: string]: ColumnValue };
export type Row = Record<string, ColumnValue>;

/** A read-model table kept by a fold. Rows are keyed by their `uuid` column. */
export interface TableSpec {
  /** Unqualified: resolved through search_path, so a rebuild can point it at its shadow tables. */
  name: string;
  /** Every column the projection writes; the others keep their defaults. */
  columns: readonly string[];
  /** jsonb columns: their values are stored as JSON, the others as PostgreSQL reads a query parameter. */
  json?: readonly string[];
}

/** What a handler may pass for a column: what it would have bound as a query parameter. */
export type ColumnInput = ColumnValue | Date | undefined;
export type RowInput = Record<string, ColumnInput>;

/**
 * One table's rows as a batch of events changes them, in memory: the rows the
 * batch touches are read once, every event is applied to them in order, and
 * only the difference is written back, a few statements per table.
 */
export class FoldedTable {
  /** Rows as they were before the batch; null: known to be absent. */
  private readonly before = new Map<string, Row | null>();
  /** Rows the batch has touched, as they are now; null: deleted. */
  private now = new Map<string, Row | null>();
  /** Keys deleted and inserted again within the batch: written as a delete and an insert, as one by one. */
  private replaced = new Set<string>();
  /**
   * Keys the batch first touches by inserting them: not read, taken as absent.
   * The insert's own write checks that (the unique index fails it, as one by
   * one would); a key inserted and deleted again within the batch is read.
   */
  private readonly assumedAbsent = new Set<string>();
  /** Keys asked for that are not read yet. */
  readonly missing = new Set<string>();
  /** Ids of rows only looked up by idOf(), read without the rest of the row; null: absent. */
  private readonly ids = new Map<string, ColumnValue>();
  readonly missingIds = new Set<string>();
  /** A pass that only finds the keys the batch touches (see RowFold.run). */
  collecting = false;
  private readonly touched = new Set<string>();
  private readonly columns: ReadonlySet<string>;
  private readonly json: ReadonlySet<string>;

  constructor(readonly spec: TableSpec) {
    this.columns = new Set(spec.columns);
    this.json = new Set(spec.json ?? []);
    if (!this.columns.has('uuid')) throw new Error(`table ${spec.name}: a folded table needs its uuid column`);
  }

  /** The row with this uuid now, or null; what a subquery `WHERE uuid = $1` would see at this event. */
  get(uuid: unknown): Readonly<Row> | null {
    const key = keyOf(uuid);
    if (key === null) return null;
    if (this.collecting) {
      this.touch(key, false);
      return null;
    }
    return this.state(key);
  }

  /** The `id` column of the row with this uuid, or null: Cyborg's integer links. */
  idOf(uuid: unknown): ColumnValue {
    const key = keyOf(uuid);
    if (key === null) return null;
    const touched = this.now.get(key);
    if (touched !== undefined) return touched?.id ?? null;
    const before = this.before.get(key);
    if (before !== undefined) return before?.id ?? null;
    if (this.assumedAbsent.has(key)) return null;
    const id = this.ids.get(key);
    if (id !== undefined) return id;
    this.missingIds.add(key);
    return null;
  }

  /** Whether a pass asked for rows or ids that are not read yet. */
  get unread(): boolean {
    return this.missing.size > 0 || this.missingIds.size > 0;
  }

  /** INSERT: every managed column must be given; a uuid already present fails as its unique index would. */
  insert(input: RowInput): void {
    const missing = this.spec.columns.filter((c) => !(c in input));
    if (missing.length > 0) throw new Error(`insert into ${this.spec.name}: no value for ${missing.join(', ')}`);
    const key = keyOf(input.uuid);
    if (key === null) throw new Error(`null value in column "uuid" of relation "${this.spec.name}"`);
    if (this.collecting) return this.touch(key, true);
    const row = this.row(input);
    if (this.state(key) !== null) {
      throw new Error(`duplicate key value violates unique constraint on ${this.spec.name} (uuid)=(${key})`);
    }
    if (this.before.get(key)) this.replaced.add(key);
    this.now.set(key, row);
  }

  /** UPDATE ... WHERE uuid = $1: nothing when the row is absent; `change` may read the row as it is. */
  update(uuid: unknown, change: RowInput | ((row: Readonly<Row>) => RowInput)): void {
    const key = keyOf(uuid);
    if (key === null) return;
    if (this.collecting) return this.touch(key, false);
    const current = this.state(key);
    if (current === null) return;
    const patch = this.row(typeof change === 'function' ? change(current) : change);
    if ('uuid' in patch && keyOf(patch.uuid) !== key) throw new Error(`update of ${this.spec.name}: uuid is the key`);
    this.now.set(key, { ...current, ...patch });
  }

  /** DELETE ... WHERE uuid = $1. */
  delete(uuid: unknown): void {
    const key = keyOf(uuid);
    if (key === null) return;
    if (this.collecting) return this.touch(key, false);
    if (this.state(key) === null) return;
    this.now.set(key, null);
  }

  /** Forgets what the last pass did; what was read stays. */
  reset(collecting: boolean): void {
    this.collecting = collecting;
    this.now = new Map();
    this.replaced = new Set();
    this.missing.clear();
    this.missingIds.clear();
    this.touched.clear();
  }

  /** After a full pass: keys taken as absent that the batch inserted and deleted again must be read after all. */
  verifyAssumed(): void {
    for (const key of this.assumedAbsent) {
      if (this.now.get(key) === null) {
        this.assumedAbsent.delete(key);
        this.missing.add(key);
      }
    }
  }

  async load(tx: EntityManager): Promise<void> {
    const keys = [...this.missing];
    const idKeys = [...this.missingIds].filter((k) => !this.missing.has(k));
    this.missing.clear();
    this.missingIds.clear();
    if (keys.length > 0) {
      const rows: { row: Row }[] = await tx.query(
        `SELECT to_jsonb(t) AS row FROM ${ident(this.spec.name)} t WHERE uuid = ANY($1::uuid[])`,
        [keys],
      );
      for (const key of keys) this.before.set(key, null);
      for (const { row } of rows) this.before.set(row.uuid as string, row);
    }
    if (idKeys.length > 0) {
      const rows: { uuid: string; id: string }[] = await tx.query(
        `SELECT uuid, id::text AS id FROM ${ident(this.spec.name)} WHERE uuid = ANY($1::uuid[])`,
        [idKeys],
      );
      for (const key of idKeys) this.ids.set(key, null);
      // As to_jsonb gives a bigint: a JSON number.
      for (const r of rows) this.ids.set(r.uuid, Number(r.id));
    }
  }

  /** Writes the difference: deletes, then updates, then inserts, so a key deleted and added again never clashes. */
  async flush(tx: EntityManager): Promise<void> {
    const deletes: string[] = [];
    const updates: Row[] = [];
    const inserts: Row[] = [];
    for (const [key, after] of this.now) {
      const before = this.before.get(key) ?? null;
      const replaced = this.replaced.has(key);
      if (before && (!after || replaced)) deletes.push(key);
      // Inserted rows hold exactly the managed columns already; read ones may hold more.
      if (after && (!before || replaced)) inserts.push(after);
      else if (after && before && this.changed(before, after)) updates.push(this.managed(after));
    }
    const table = ident(this.spec.name);
    const columns = this.spec.columns.map(ident);
    if (deletes.length > 0) await tx.query(`DELETE FROM ${table} WHERE uuid = ANY($1::uuid[])`, [deletes]);
    if (updates.length > 0) {
      const set = columns.filter((c) => c !== '"uuid"').map((c) => `${c} = x.${c}`);
      await tx.query(
        `UPDATE ${table} AS t SET ${set.join(', ')}
         FROM json_populate_recordset(NULL::${table}, $1::json) AS x WHERE t.uuid = x.uuid`,
        [JSON.stringify(updates)],
      );
    }
    if (inserts.length > 0) {
      await tx.query(
        `INSERT INTO ${table} (${columns.join(', ')})
         SELECT ${columns.join(', ')} FROM json_populate_recordset(NULL::${table}, $1::json)`,
        [JSON.stringify(inserts)],
      );
    }
  }

  private state(key: string): Row | null {
    const touched = this.now.get(key);
    if (touched !== undefined) return touched;
    const before = this.before.get(key);
    if (before !== undefined) return before;
    if (!this.assumedAbsent.has(key)) this.missing.add(key);
    return null;
  }

  /** Collecting: notes a key the batch touches, and whether it first touches it by inserting it. */
  private touch(key: string, inserting: boolean): void {
    if (this.touched.has(key) || this.before.has(key) || this.assumedAbsent.has(key)) return;
    this.touched.add(key);
    if (inserting) this.assumedAbsent.add(key);
    else this.missing.add(key);
  }

  private row(input: RowInput): Row {
    const row: Row = {};
    for (const [column, value] of Object.entries(input)) {
      if (!this.columns.has(column)) throw new Error(`table ${this.spec.name}: column ${column} is not one it keeps`);
      row[column] = this.json.has(column) ? jsonValue(value) : parameterValue(value, column);
    }
    return row;
  }

  private managed(row: Row): Row {
    const out: Row = {};
    for (const column of this.spec.columns) out[column] = row[column] ?? null;
    return out;
  }

  private changed(before: Row, after: Row): boolean {
    return this.spec.columns.some((c) => JSON.stringify(before[c] ?? null) !== JSON.stringify(after[c] ?? null));
  }
}

/** The tables of one batch's fold. */
export class RowFold {
  private readonly tables = new Map<string, FoldedTable>();

  constructor(specs: readonly TableSpec[]) {
    for (const spec of specs) this.tables.set(spec.name, new FoldedTable(spec));
  }

  table(name: string): FoldedTable {
    const table = this.tables.get(name);
    if (!table) throw new Error(`no folded table ${name}`);
    return table;
  }

  /**
   * Applies `events` with `apply` and writes the result. A first pass only
   * collects the keys the batch touches (handlers take them from the
   * events); they are read in one query per table, then the batch is applied
   * from the start, again until a pass asks for nothing unread.
   */
  async run<E>(events: readonly E[], apply: (event: E, fold: RowFold) => void, tx: EntityManager): Promise<void> {
    const tables = [...this.tables.values()];
    for (let pass = 0; ; pass++) {
      for (const table of tables) table.reset(pass === 0);
      for (const event of events) apply(event, this);
      if (pass > 0) for (const table of tables) table.verifyAssumed();
      const unread = tables.filter((t) => t.unread);
      if (pass > 0 && unread.length === 0) break;
      for (const table of unread) await table.load(tx);
    }
    for (const table of tables) await table.flush(tx);
  }
}

/** A uuid as PostgreSQL prints it, so that keys from events and from rows compare equal. */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function keyOf(uuid: unknown): string | null {
  if (uuid === null || uuid === undefined) return null;
  const text = String(uuid);
  if (CANONICAL_UUID.test(text)) return text;
  const hex = text.replace(/[{}-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return text; // PostgreSQL refuses it when the batch reads it
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What node-postgres would send for a parameter, so a folded row holds what one by one would write. */
function parameterValue(value: ColumnInput, column: string): ColumnValue {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) throw new Error(`column ${column}: arrays are not kept by folds`);
  if (typeof value === 'object') return JSON.stringify(value);
  return value;
}

function jsonValue(value: ColumnInput): ColumnValue {
  if (value === undefined || value === null) return null;
  return JSON.parse(JSON.stringify(value)) as ColumnValue;
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
