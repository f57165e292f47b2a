import type { EntityManager } from 'typeorm';

export interface SqlResult<T> {
  rows: T[];
  /** Rows inserted, updated or deleted. */
  count: number;
}

/**
 * Runs SQL through TypeORM and returns rows and the affected count in one
 * shape, whatever the statement (TypeORM's plain query() returns
 * [rows, count] for UPDATE and DELETE but rows alone otherwise).
 */
export async function sql<T = Record<string, unknown>>(
  manager: EntityManager,
  text: string,
  params: unknown[] = [],
): Promise<SqlResult<T>> {
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const result = await runner.query(text, params, true);
    return { rows: (result.records ?? []) as T[], count: result.affected ?? 0 };
  } finally {
    if (!manager.queryRunner) await runner.release();
  }
}
