import type { Command } from 'commander';
import {
  Projections,
  type ProjectionStatus,
  type RebuildProgress,
  readModelProjections,
  RebuildInProgressError,
  UnknownProjectionError,
} from '@cyborg/projections';
import { withEventStore } from '../database';
import { NotFound, positiveInt, printJson, run, table } from '../output';

/** `cyborg projections status|rebuild`: where each read model stands, and blue/green rebuilds. */
export function registerProjectionsCommand(program: Command): void {
  const projections = program
    .command('projections')
    .description(`the read models kept from the log: ${readModelProjections.map((p) => p.name).join(', ')}`);

  projections
    .command('status')
    .description('per projection: checkpoint position, lag behind the log, last error, active instance, rebuilds')
    .option('--json', 'print JSON')
    .action((options: { json?: boolean }) =>
      run(async () => {
        const statuses = await withEventStore((store, url, dataSource) =>
          new Projections(readModelProjections, store, { dataSource, databaseUrl: url }).status(),
        );
        if (options.json) printJson(statuses);
        else console.log(statusTable(statuses));
      }),
    );

  projections
    .command('rebuild')
    .argument('[name]', 'one projection; all of them (one shared pass over the log) when absent')
    .description(
      'rebuild read models blue/green: new tables beside the live ones, filled from the log and swapped in ' +
        'when caught up; the API keeps answering throughout',
    )
    .option('--batch <events>', 'log events per read and per transaction', positiveInt, 5000)
    .option('--json', 'print JSON (no progress bar)')
    .action((name: string | undefined, options: { json?: boolean; batch: number }) =>
      run(async () => {
        const bar = options.json ? null : new ProgressBar(process.stderr);
        try {
          const result = await withEventStore((store, url, dataSource) =>
            new Projections(readModelProjections, store, { dataSource, databaseUrl: url }).rebuild(name, {
              batchSize: options.batch,
              onProgress: (p) => bar?.update(p),
            }),
          );
          bar?.end();
          if (options.json) {
            printJson(result);
          } else {
            console.log(
              `rebuilt ${result.projections.join(', ')}: ${result.eventsRead} log events in ${result.seconds.toFixed(1)} s ` +
                `(${Math.round(result.eventsRead / Math.max(result.seconds, 0.001))} events/s); ` +
                `swapped in ${result.swapMs} ms at position ${result.checkpoint.position}`,
            );
            for (const [projection, applied] of Object.entries(result.eventsApplied)) {
              console.log(`  ${projection}: ${applied} events applied`);
            }
          }
        } catch (error) {
          bar?.end();
          if (error instanceof UnknownProjectionError) throw new NotFound(error.message);
          if (error instanceof RebuildInProgressError) {
            console.error(`error: ${error.message}`);
            process.exitCode = 1;
            return;
          }
          throw error;
        }
      }),
    );
}

function statusTable(statuses: readonly ProjectionStatus[]): string {
  return table(
    statuses.map((s) => ({
      name: s.name.replace(/^projection:/, ''),
      position: String(s.checkpoint.position),
      lag: String(s.lag),
      handled: String(s.eventsHandled),
      active: s.active ? 'yes' : 'no',
      rebuild: s.rebuilding
        ? `running: ${s.rebuild?.phase ?? ''} ${s.rebuild?.eventsRead ?? 0}/${s.rebuild?.eventsTotal ?? 0}`
        : s.rebuild
          ? `${s.rebuild.state} ${(s.rebuild.finishedAt ?? s.rebuild.startedAt).toISOString()}`
          : '-',
      error: s.lastError ? `${s.lastErrorAt?.toISOString() ?? ''} ${s.lastError}` : '-',
    })),
    {
      name: 'PROJECTION',
      position: 'POSITION',
      lag: 'LAG',
      handled: 'EVENTS',
      active: 'ACTIVE',
      rebuild: 'REBUILD',
      error: 'LAST ERROR',
    },
  );
}

/** A bar redrawn in place on a terminal; elsewhere a line per phase and every few seconds. */
class ProgressBar {
  private lastLine = 0;
  private lastPhase = '';
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(p: RebuildProgress): void {
    const total = Math.max(p.eventsTotal, p.eventsRead, 1);
    const share = p.phase === 'done' ? 1 : Math.min(1, p.eventsRead / total);
    const rate = p.elapsedMs > 0 ? Math.round((p.eventsRead / p.elapsedMs) * 1000) : 0;
    const words = `${p.phase} ${p.eventsRead}/${total} events, ${rate} events/s`;
    if (this.out.isTTY) {
      const width = 30;
      const filled = Math.round(share * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
      this.out.write(`\r${bar} ${words}\x1b[K`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (p.phase !== this.lastPhase || now - this.lastLine >= 2000) {
      this.out.write(`rebuild ${p.projections.join(', ')}: ${Math.floor(share * 100)}% ${words}\n`);
      this.lastLine = now;
      this.lastPhase = p.phase;
    }
  }

  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
