import { InvalidArgumentError } from 'commander';
import { AuditInputError } from '@cyborg/audit';

export type Row = Record<string, string>;

/** A table for people: one column per key of `columns`, as wide as its widest cell (or `minWidths`). */
export function table(
  rows: readonly Row[],
  columns: Record<string, string>,
  minWidths: Record<string, number> = {},
): string {
  const keys = Object.keys(columns);
  const widths = keys.map((key) =>
    Math.max(minWidths[key] ?? 0, columns[key].length, ...rows.map((row) => (row[key] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(keys.map((key) => columns[key])), ...rows.map((row) => line(keys.map((key) => row[key] ?? '')))].join(
    '\n',
  );
}

/** `key  value` lines, for one record. */
export function fields(record: object): string {
  const entries = Object.entries(record);
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${key.padEnd(width)}  ${text(value)}`).join('\n');
}

export function text(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function clip(value: string, width: number): string {
  return value.length > width ? `${value.slice(0, width - 3)}...` : value;
}

export const printJson = (value: unknown) => console.log(JSON.stringify(value, null, 2));

let stdoutClosed = false;

/**
 * Writes to stdout and resolves once it can take more (backpressure), so a
 * slow reader (a pipe, `less`) holds the producer back instead of memory
 * filling up. A reader that went away (`| head`) ends the command quietly.
 */
export async function writeOut(text: string): Promise<void> {
  if (stdoutClosed) return;
  if (process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      stdoutClosed = true;
      process.exit(process.exitCode ?? 0);
    });
  }
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      process.stdout.off('drain', done);
      process.stdout.off('close', done);
      resolve();
    };
    process.stdout.once('drain', done);
    process.stdout.once('close', done);
  });
}

/**
 * Runs a command's work: an operator's mistake (bad filter, unknown thing)
 * is one line on stderr and exit status 2, never a stack trace.
 */
export async function run(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof AuditInputError || error instanceof NotFound) {
      console.error(`error: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
}

export class NotFound extends Error {}

/** Commander's parser of a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}
