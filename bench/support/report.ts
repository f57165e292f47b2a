import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BenchConfig } from './config';
import { type Figure, goalMet } from './figure';
import type { MachineInfo } from './machine';

export interface BenchResults {
  startedAt: string;
  finishedAt: string | null;
  durationSeconds: number | null;
  /** 1-minute load average at the end (the one at the start is in machine). */
  loadAverageAtEnd: number | null;
  config: Omit<BenchConfig, 'adminUrl'>;
  machine: MachineInfo | null;
  database: string | null;
  figures: Figure[];
  /** Modules that failed; their figures are missing. */
  errors: { module: string; message: string }[];
  /** Runs of some modules only (BENCH_ONLY) merged into this file since its last full run, by module name. */
  moduleRuns?: Record<string, ModuleRun>;
}

/** When and on what a BENCH_ONLY run measured the figures of one module. */
export interface ModuleRun {
  startedAt: string;
  finishedAt: string | null;
  durationSeconds: number | null;
  loadAverageAtEnd: number | null;
  machine: MachineInfo | null;
  config: Omit<BenchConfig, 'adminUrl'>;
}

/**
 * Writes the results. `modules` names the modules of a BENCH_ONLY run: then
 * only their figures and errors are replaced in the file there, and the
 * other modules' figures stay as their own runs left them.
 */
export function writeResults(path: string, results: BenchResults, modules: string[] | null = null): void {
  mkdirSync(dirname(path), { recursive: true });
  const existing = modules ? readResults(path) : null;
  const written = existing ? merged(existing, results, modules!) : results;
  writeFileSync(path, `${JSON.stringify(written, null, 2)}\n`);
}

function readResults(path: string): BenchResults | null {
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
  } catch {
    return null;
  }
}

function merged(existing: BenchResults, run: BenchResults, modules: string[]): BenchResults {
  const ofRun = (name: string) => modules.some((m) => name === m || name.startsWith(`${m}.`));
  const { figures: _f, errors: _e, moduleRuns: _r, ...header } = run;
  const moduleRuns = { ...existing.moduleRuns };
  for (const m of modules) moduleRuns[m] = { ...header };
  return {
    ...existing,
    figures: [...existing.figures.filter((f) => !ofRun(f.name)), ...run.figures],
    errors: [...existing.errors.filter((e) => !ofRun(e.module)), ...run.errors],
    moduleRuns,
  };
}

export function printMachine(m: MachineInfo): void {
  console.log(`machine:    ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, load ${m.loadAverage}`);
  console.log(`software:   Node ${m.node}, PostgreSQL ${m.postgres}`);
  console.log(
    `postgres:   ${Object.entries(m.postgresSettings)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ')}`,
  );
}

const fmt = (x: number) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: x >= 100 ? 0 : 2 }) : String(x);

function goalText(f: Figure): string {
  if (!f.goal) return '';
  const parts = [];
  if (f.goal.value !== undefined) parts.push(`≥${fmt(f.goal.value)}`);
  if (f.goal.maxValue !== undefined) parts.push(`≤${fmt(f.goal.maxValue)}`);
  if (f.goal.ratio !== undefined) parts.push(`≥${f.goal.ratio}x`);
  if (f.goal.maxRatio !== undefined) parts.push(`≤${fmt(f.goal.maxRatio)}x`);
  return parts.join(' & ');
}

export function printTable(figures: Figure[]): void {
  const rows = figures.map((f) => {
    const met = goalMet(f);
    return [
      f.name,
      `${fmt(f.value)} ${f.unit}`,
      f.baseline === null ? '-' : `${fmt(f.baseline)} ${f.baselineUnit ?? f.unit}`,
      f.ratio !== null && Number.isFinite(f.ratio) ? f.ratio.toFixed(2) : '-',
      goalText(f),
      met === null ? '' : met ? 'met' : 'MISSED',
    ];
  });
  const head = ['figure', 'value', 'baseline', 'ratio', 'goal', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 1 || i === 2 || i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  const notes = figures.filter((f) => f.note);
  if (notes.length) {
    console.log('');
    for (const f of notes) console.log(`${f.name}: ${f.note}`);
  }
}
