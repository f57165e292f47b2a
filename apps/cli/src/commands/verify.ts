import type { Command } from 'commander';
import { verifyEventLog } from '@cyborg/event-store';
import { withDatabase } from '../database';
import { positiveInt } from '../output';
import { Progress } from '../progress';

/** `cyborg verify`: every stream's hash chain and version sequence. */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      "check every stream's hash chain and version sequence; exits 1 at the first broken event of any stream",
    )
    .option('--json', 'print JSON')
    .option('--batch-size <n>', 'events read per query; progress is reported on stderr after each', positiveInt)
    .option('--quiet', 'no progress on stderr')
    .action(async (options: { json?: boolean; batchSize?: number; quiet?: boolean }) => {
      const progress = options.quiet ? null : new Progress('verifying events');
      const result = await withDatabase((ds) =>
        verifyEventLog(ds, {
          batchSize: options.batchSize,
          onProgress: (p) => progress?.update(p.events, p.total),
        }),
      );
      progress?.done();
      if (options.json) {
        console.log(JSON.stringify(result));
      } else {
        console.log(`${result.events} events in ${result.streams} streams checked`);
        if (result.breaks.length === 0) console.log('every hash chain verifies');
        else console.table(result.breaks);
      }
      if (result.breaks.length > 0) process.exitCode = 1;
    });
}
