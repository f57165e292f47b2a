import type { Command } from 'commander';
import { type AuditEvent, type EventFilterParam, followEvents, parseEventFilter, readEvents } from '@cyborg/audit';
import type { Checkpoint } from '@cyborg/event-store';
import { withAuditLog } from '../database';
import { clip, positiveInt, run, table, writeOut } from '../output';

interface EventsOptions {
  stream?: string;
  category?: string;
  type?: string;
  since?: string;
  until?: string;
  fromPosition?: string;
  toPosition?: string;
  project?: string;
  user?: string;
  host?: string;
  requestId?: string;
  commandId?: string;
  limit?: number;
  marker?: string;
  follow?: boolean;
  ndjson?: boolean;
  json?: boolean;
}

const PAGE = 1000;

/** Pages of a long listing line up: every column at least this wide. */
const WIDTHS = { position: 8, at: 24, stream: 41, version: 3, type: 22, who: 16, why: 17 };

const COLUMNS = {
  position: 'POSITION',
  at: 'OCCURRED AT',
  stream: 'STREAM',
  version: 'V',
  type: 'TYPE',
  who: 'WHO',
  why: 'COMMAND',
  summary: 'SUMMARY',
};

/** `cyborg events`: list, export (NDJSON) and follow the event log. */
export function registerEventsCommand(program: Command): void {
  program
    .command('events')
    .description('list the event log in log order, filtered; export it as NDJSON; follow it as it grows')
    .option('--stream <ids>', 'streams, comma-separated (e.g. arq-<uuid>,host-compute-1)')
    .option('--category <names>', 'stream categories, comma-separated (arq, host, device_profile, ...)')
    .option('--type <types>', 'event types, comma-separated (e.g. ArqBound,ArqUnbound)')
    .option('--since <time>', 'events at or after this time (ISO 8601)')
    .option('--until <time>', 'events before this time (ISO 8601)')
    .option('--from-position <n>', 'events at or after this log position')
    .option('--to-position <n>', 'events at or before this log position')
    .option('--project <id>', 'events the project caused, or of its ARQs')
    .option('--user <id>', 'events the user caused')
    .option('--host <hostname>', "events of the host's stream, or naming it")
    .option('--request-id <id>', 'events of one API request (x-openstack-request-id)')
    .option('--command-id <id>', 'events of one command')
    .option('--limit <n>', 'at most this many events', positiveInt)
    .option('--marker <event id>', 'start after this event (the last one of a previous page)')
    .option(
      '-f, --follow',
      'then keep printing new events until interrupted (Ctrl-C); starts at the end of the log unless --since, --from-position or --marker says where',
    )
    .option('--ndjson', 'one JSON event per line (export)')
    .option('--json', 'print JSON: {"events": [...]}; with --follow, one event per line')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  cyborg events --type ArqBound,ArqUnbound --since 2026-11-21T00:00:00Z\n' +
        '  cyborg events --project 5f3c... --ndjson > project-events.ndjson\n' +
        '  cyborg events --host compute-1 --follow',
    )
    .action((options: EventsOptions) => run(() => listEvents(options)));
}

async function listEvents(options: EventsOptions): Promise<void> {
  const params: Partial<Record<EventFilterParam, string>> = {
    stream: options.stream,
    category: options.category,
    type: options.type,
    since: options.since,
    until: options.until,
    from_position: options.fromPosition,
    to_position: options.toPosition,
    project_id: options.project,
    user_id: options.user,
    hostname: options.host,
    request_id: options.requestId,
    command_id: options.commandId,
  };
  const filter = parseEventFilter(params);
  await withAuditLog(async (log, url) => {
    const print = printer(options);
    const startsSomewhere =
      options.since !== undefined || options.fromPosition !== undefined || options.marker !== undefined;
    let checkpoint: Checkpoint | undefined;
    if (!options.follow || startsSomewhere) {
      let left = options.limit ?? Number.POSITIVE_INFINITY;
      let marker = options.marker;
      while (left > 0) {
        const limit = Math.min(PAGE, left);
        const read = await readEvents(log, filter, { limit, marker, after: checkpoint });
        marker = undefined;
        checkpoint = read.checkpoint;
        // The next page is read only once stdout took this one: memory stays one page, however long the log.
        await print.events(read.events);
        left -= read.events.length;
        if (read.events.length < limit) break;
      }
    }
    if (options.follow) {
      const stop = new AbortController();
      const interrupt = () => stop.abort();
      process.once('SIGINT', interrupt);
      process.once('SIGTERM', interrupt);
      try {
        await followEvents(log, filter, {
          after: checkpoint,
          databaseUrl: url,
          signal: stop.signal,
          onEvents: (events) => print.events(events),
        });
      } finally {
        process.off('SIGINT', interrupt);
        process.off('SIGTERM', interrupt);
      }
    }
    await print.end();
  });
}

/**
 * Prints pages as they come, waiting for stdout to take each (backpressure):
 * NDJSON one event per line, --json one document written as it goes, tables
 * page by page.
 */
function printer(options: EventsOptions) {
  let printed = 0;
  const document = options.json && !options.follow && !options.ndjson;
  return {
    async events(events: AuditEvent[]): Promise<void> {
      if (options.ndjson || (options.json && options.follow)) {
        if (events.length > 0) await writeOut(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
      } else if (document) {
        if (events.length > 0) {
          const items = events.map((e, i) => `${printed + i === 0 ? '{"events": [\n' : ',\n'}${JSON.stringify(e)}`);
          await writeOut(items.join(''));
        }
      } else if (events.length > 0) {
        const rows = events.map((e) => ({
          position: String(e.position),
          at: e.occurred_at,
          stream: e.stream_id,
          version: String(e.version),
          type: e.schema_version > 1 ? `${e.type}/v${e.schema_version}` : e.type,
          who: e.who.project_id ? `${e.who.actor}@${e.who.project_id}` : e.who.actor,
          why: e.why.command ?? (e.why.reason ? 'conductor' : '-'),
          summary: clip(e.summary, 100),
        }));
        const text = table(rows, COLUMNS, WIDTHS);
        // The header once; later pages continue the table.
        await writeOut(`${printed === 0 ? text : text.split('\n').slice(1).join('\n')}\n`);
      }
      printed += events.length;
    },
    async end(): Promise<void> {
      if (document) await writeOut(printed === 0 ? '{"events": []}\n' : '\n]}\n');
      else if (!options.json && !options.ndjson && printed === 0) await writeOut('no events match\n');
    },
  };
}
