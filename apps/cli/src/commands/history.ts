import { type Command, Argument } from 'commander';
import { HISTORY_KINDS, type History, type HistoryEntry, type HistoryKind, historyOf } from '@cyborg/audit';
import { withAuditLog } from '../database';
import { NotFound, printJson, run, text } from '../output';

const NAMES: Record<HistoryKind, string> = {
  arq: 'ARQ',
  device: 'device',
  deployable: 'deployable',
  host: 'host',
  profile: 'device profile',
};

/** `cyborg history <kind> <id>`: the timeline of one thing, with who, when, why and what changed. */
export function registerHistoryCommand(program: Command): void {
  program
    .command('history')
    .description('the timeline of one ARQ, device, deployable, host or device profile: every change, who, when and why')
    .addArgument(new Argument('<kind>', 'what to trace').choices(HISTORY_KINDS))
    .argument('<id>', 'its uuid; a hostname for a host; a uuid or name for a profile')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      "\nDevices and deployables live on their host's stream; their history includes what hangs under them\n" +
        '(deployables, attach handles and the ARQs holding them, attributes).\n\n' +
        'Examples:\n  cyborg history arq 3f1c2a9e-...\n  cyborg history host compute-1 --json',
    )
    .action((kind: HistoryKind, id: string, options: { json?: boolean }) =>
      run(async () => {
        const history = await withAuditLog((log) => historyOf(log, kind, id));
        if (!history) throw new NotFound(`the log knows no ${NAMES[kind]} ${id}`);
        if (options.json) printJson(history);
        else console.log(timeline(history));
      }),
    );
}

function timeline(history: History): string {
  const head = `${NAMES[history.kind]} ${history.id}: ${history.entries.length} change(s), from ${history.streams.join(', ')}`;
  return [head, '', ...history.entries.map(entry)].join('\n');
}

function entry(e: HistoryEntry): string {
  const who = e.who.project_id ? `${e.who.actor}@${e.who.project_id}` : e.who.actor;
  const why = [e.why.command, e.why.request_id].filter((part) => part !== null).join(' ');
  const lines = [
    `${e.at}  #${e.position}  ${e.type}${e.schema_version > 1 ? `/v${e.schema_version}` : ''}  by ${who}${why ? `  (${why})` : ''}`,
    `    ${e.summary}`,
  ];
  if (e.why.reason) lines.push(`    reason: ${e.why.reason}`);
  for (const [field, change] of Object.entries(e.changes)) {
    lines.push(`    ${field}: ${text(change.from)} -> ${text(change.to)}`);
  }
  return lines.join('\n');
}
