import type { DataSource } from 'typeorm';

/**
 * One page of a list, as openstacksdk asks for it: at most `limit` items
 * after the item `marker` (a uuid, canonical form) in the list's order.
 */
export interface PageRequest {
  limit?: number;
  marker?: string;
}

/** The marker names no item the caller could have seen (never existed, deleted, another project's). */
export class MarkerNotFoundError extends Error {
  constructor(readonly marker: string) {
    super(`Marker ${marker} not found`);
    this.name = 'MarkerNotFoundError';
  }
}

/**
 * The SQL that restricts an ordered query to one page, and its parameters
 * appended to `params`. The marker's own sort key is looked up first (in the
 * whole table, filters aside, visibility applied by `scope`), so a page
 * starts right after it even if it no longer matches the filter.
 */
export async function pageSql(
  dataSource: DataSource,
  page: PageRequest,
  table: { name: string; orderColumn: string; scope?: { sql: string; params: unknown[] } },
  params: unknown[],
  /** The column as the paged query names it (e.g. with a table alias). */
  orderExpression = table.orderColumn,
): Promise<{ after: string | null; limit: string }> {
  let after: string | null = null;
  if (page.marker !== undefined) {
    const scope = table.scope;
    const scopeParams = scope?.params ?? [];
    const scopeSql = scope ? ` AND (${shift(scope.sql, 1)})` : '';
    const rows: { key: string }[] = await dataSource.query(
      `SELECT ${table.orderColumn} AS key FROM ${table.name} WHERE uuid = $1${scopeSql}`,
      [page.marker, ...scopeParams],
    );
    if (rows.length === 0) throw new MarkerNotFoundError(page.marker);
    params.push(rows[0].key);
    after = `${orderExpression} > $${params.length}`;
  }
  const limit = page.limit === undefined ? '' : `LIMIT ${Math.max(0, Math.floor(page.limit))}`;
  return { after, limit };
}

/** Renumbers `$1`, `$2`... by `by`, so a condition written alone can follow other parameters. */
function shift(sql: string, by: number): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + by}`);
}
