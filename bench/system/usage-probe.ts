/**
 * Loaded with `--import` into every process the bench starts: answers the
 * bench's `usage` message with this process's memory, CPU and SQL statements,
 * and stops the process when the bench goes away, so no service outlives a
 * killed run.
 */
import pg from 'pg';
import type { ProcessUsage } from './usage';

// Every statement of the process goes through pg's Client.query (TypeORM's pool included): count them there.
let statements = 0;
// BENCH_STATEMENT_KINDS=1: also by statement (its first words), to see which ones a lifecycle makes.
const kinds = process.env.BENCH_STATEMENT_KINDS ? new Map<string, number>() : null;
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
  statements++;
  if (kinds) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | null)?.text ?? '?');
    const kind = text.replace(/\s+/g, ' ').trim().slice(0, 90);
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  return query.apply(this, args);
} as typeof pg.Client.prototype.query;

process.on('message', (message: unknown) => {
  if (message !== 'usage' && message !== 'usage-after-gc') return;
  // Only with --expose-gc: the bench starts its services with it, so "at rest" is after a full collection.
  if (message === 'usage-after-gc') (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  const usage: ProcessUsage = {
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    cpuMicros: cpu.user + cpu.system,
    statements,
    ...(kinds ? { statementKinds: Object.fromEntries(kinds) } : {}),
  };
  process.send?.({ usage });
});
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
