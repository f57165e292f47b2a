import type { Command } from 'commander';
import { loadSettings } from '@cyborg/config';
import { eventSchemas } from '@cyborg/contracts';
import {
  anchorsStreamName,
  type CopiesResult,
  type EventsStreamOptions,
  eventsStreamFrom,
  eventsStreamName,
  EventStore,
  EventTypeRegistry,
  verifyAgainstCopies,
  verifyEventLog,
} from '@cyborg/event-store';
import { connectNatsOnce } from '@cyborg/messaging';
import { withDatabase } from '../database';
import { positiveInt, table } from '../output';
import { Progress } from '../progress';

interface VerifyOptions {
  json?: boolean;
  batchSize?: number;
  quiet?: boolean;
  logOnly?: boolean;
}

/**
 * `cyborg verify`: every stream's hash chain and version sequence, then the
 * log against what left the database (JetStream's copy of every event and the
 * conductor's anchors), which a database superuser cannot rewrite.
 */
export function registerVerifyCommand(program: Command): void {
  program
    .command('verify')
    .description(
      "check every stream's hash chain and version sequence, then every event against its JetStream copy and the log against its anchors; exits 1 at the first difference",
    )
    .option('--json', 'print JSON')
    .option('--batch-size <n>', 'events read per query; progress is reported on stderr after each', positiveInt)
    .option('--quiet', 'no progress on stderr')
    .option('--log-only', 'check the database alone: no JetStream copy, no anchors (NATS not needed)')
    .action(async (options: VerifyOptions) => {
      try {
        await verify(options);
      } catch (error) {
        if (!(error instanceof NatsUnreachable)) throw error;
        console.error(`error: ${error.message}`);
        process.exitCode = 2;
      }
    });
}

class NatsUnreachable extends Error {}

async function verify(options: VerifyOptions): Promise<void> {
  const settings = loadSettings();
  const result = await withDatabase(async (ds) => {
    const progress = options.quiet ? null : new Progress('verifying events');
    const chains = await verifyEventLog(ds, {
      batchSize: options.batchSize,
      onProgress: (p) => progress?.update(p.events, p.total),
    });
    progress?.done();
    if (options.logOnly) return { ...chains, jetstream: null };
    const nc = await connectNatsOnce(settings.NATS_URL, 'cyborg-cli-verify').catch((error: Error) => {
      throw new NatsUnreachable(
        `cannot reach NATS at NATS_URL to compare the log with JetStream (${error.message}); --log-only checks the database alone`,
      );
    });
    try {
      const comparing = options.quiet ? null : new Progress('comparing with JetStream');
      const store = new EventStore(ds, EventTypeRegistry.from(eventSchemas), { processWakeUps: false });
      const jetstream = await verifyAgainstCopies(store, nc, {
        ...eventsStreamFrom(settings),
        signingKey: settings.ANCHOR_SIGNING_KEY || undefined,
        batchSize: options.batchSize,
        onProgress: (p) => comparing?.update(p.events, p.total),
      });
      comparing?.done();
      return { ...chains, jetstream };
    } finally {
      await nc.close();
    }
  });
  const copiesFailed = result.jetstream
    ? result.jetstream.difference !== null || result.jetstream.anchorProblems.length > 0
    : false;
  if (options.json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`${result.events} events in ${result.streams} streams checked`);
    if (result.breaks.length === 0) console.log('every hash chain verifies');
    else console.table(result.breaks);
    if (result.jetstream) printCopies(result.jetstream, eventsStreamFrom(settings));
  }
  if (result.breaks.length > 0 || copiesFailed) process.exitCode = 1;
}

function printCopies(copies: CopiesResult, stream: EventsStreamOptions): void {
  const pending =
    copies.notCompared > 0 ? `; ${copies.notCompared} not compared (not relayed yet, or past the difference)` : '';
  console.log(`${copies.relayed} events compared with ${eventsStreamName(stream)}${pending}`);
  if (copies.difference) {
    const d = copies.difference;
    console.log(
      `first event that differs: position ${d.position}, ${d.streamId} v${d.version}, event ${d.eventId}: ${d.problem}`,
    );
  } else {
    console.log('every relayed event matches its JetStream copy');
  }
  const signatures = copies.signaturesChecked
    ? 'signatures checked'
    : 'signatures not checked (ANCHOR_SIGNING_KEY unset)';
  console.log(`${copies.anchors} anchors in ${anchorsStreamName(stream)}, ${signatures}`);
  if (copies.anchorProblems.length === 0) {
    console.log(copies.anchors > 0 ? 'the log matches every anchor' : 'no anchors to compare');
    return;
  }
  console.log(
    table(
      copies.anchorProblems.map((p) => ({
        sequence: String(p.sequence),
        position: String(p.position),
        events: String(p.events),
        problem: p.problem,
      })),
      { sequence: 'ANCHOR', position: 'POSITION', events: 'EVENTS', problem: 'PROBLEM' },
    ),
  );
}
