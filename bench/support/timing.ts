import { performance } from 'node:perf_hooks';

export const now = (): number => performance.now();

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface ClosedLoopResult {
  /** Operations that started inside the measured window, and the units they carried. */
  ops: number;
  units: number;
  seconds: number;
  /** Milliseconds per operation, sorted. */
  latencies: number[];
}

/**
 * `workers` loops, each calling its op back to back: first warmup seconds
 * (not counted), then `seconds` measured. An op that starts in the window is
 * counted; the window ends when the last op in flight returns.
 */
export async function closedLoop(
  workers: number,
  warmupSeconds: number,
  seconds: number,
  op: (worker: number) => Promise<number>,
): Promise<ClosedLoopResult> {
  const start = now();
  const measureFrom = start + warmupSeconds * 1000;
  const stopAt = measureFrom + seconds * 1000;
  let ops = 0;
  let units = 0;
  const latencies: number[] = [];
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (;;) {
        const t0 = now();
        if (t0 >= stopAt) return;
        const n = await op(w);
        if (t0 >= measureFrom) {
          ops++;
          units += n;
          latencies.push(now() - t0);
        }
      }
    }),
  );
  const end = now();
  latencies.sort((a, b) => a - b);
  return { ops, units, seconds: (end - measureFrom) / 1000, latencies };
}
