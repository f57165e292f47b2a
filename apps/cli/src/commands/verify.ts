import type { Command } from 'commander';
import { verifyEventLog } from '@cyborg/event-store';
import { withDatabase } from '../database';

/** `cyborg verify`: every stream's hash chain and version sequence. */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      "check every stream's hash chain and version sequence; exits 1 at the first broken event of any stream",
    )
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const result = await withDatabase((ds) => verifyEventLog(ds));
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
