import { type Command, Argument } from 'commander';
import { type HostRecord, parseMoment, STATE_KINDS, type StateAt, stateAt, type StateKind } from '@cyborg/audit';
import { withAuditLog } from '../database';
import { fields, NotFound, printJson, run, table, text } from '../output';

/** `cyborg state-at <kind> <id> --at <time|position>`: the state then, rebuilt from the log. */
export function registerStateAtCommand(program: Command): void {
  program
    .command('state-at')
    .description('the state of an ARQ, device or host at a past moment, rebuilt from its stream')
    .addArgument(new Argument('<kind>', 'what to rebuild').choices(STATE_KINDS))
    .argument('<id>', 'its uuid; a hostname for a host')
    .requiredOption('--at <time|position>', 'an ISO 8601 time, or a log position (digits): the event there included')
    .option('--json', 'print JSON (the resource as the API returned it then, without links)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  cyborg state-at arq 3f1c2a9e-... --at 2026-11-21T09:30:00Z\n' +
        '  cyborg state-at host compute-1 --at 1234 --json',
    )
    .action((kind: StateKind, id: string, options: { at: string; json?: boolean }) =>
      run(async () => {
        const moment = parseMoment(options.at);
        const state = await withAuditLog((log) => stateAt(log, kind, id, moment));
        if (!state) throw new NotFound(`the log knows no ${kind} ${id}`);
        if (options.json) printJson(state);
        else console.log(describe(state));
      }),
    );
}

function describe(result: StateAt): string {
  const asOf = result.as_of
    ? `as left by ${result.as_of.type} (${result.as_of.stream_id} v${result.as_of.version}, position ${result.as_of.position}, ${result.as_of.occurred_at})`
    : 'before its first event';
  const head = `${result.kind} ${result.id} at ${result.at}, ${asOf}`;
  if (!result.state)
    return `${head}\n${result.as_of ? 'did not exist then (deleted or removed)' : 'did not exist yet'}`;
  if (result.kind !== 'host') return `${head}\n\n${fields(result.state)}`;
  const host = result.state as HostRecord;
  return [
    head,
    '',
    fields({
      registered: host.registered,
      drivers: host.drivers.join(', '),
      agent_version: host.agent_version,
      last_report: host.last_report ? `generation ${host.last_report.generation}` : null,
    }),
    '',
    table(
      host.devices.map((d) => ({
        uuid: d.uuid,
        type: d.type,
        model: d.model,
        status: d.status,
        updated: d.updated_at ?? '-',
      })),
      { uuid: 'DEVICE', type: 'TYPE', model: 'MODEL', status: 'STATUS', updated: 'UPDATED AT' },
    ),
    '',
    table(
      host.deployables.map((d) => {
        const handles = host.attach_handles.filter((h) => h.deployable_uuid === d.uuid);
        return {
          name: d.name,
          accelerators: String(d.num_accelerators),
          handles: String(handles.length),
          inUse: handles
            .filter((h) => h.in_use)
            .map((h) => text(h.allocated_to))
            .join(' '),
        };
      }),
      { name: 'DEPLOYABLE', accelerators: 'ACCELERATORS', handles: 'HANDLES', inUse: 'HELD BY ARQ' },
    ),
  ].join('\n');
}
