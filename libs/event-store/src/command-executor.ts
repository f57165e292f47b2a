import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { CommandIdReusedError, WrongExpectedVersionError } from './errors';
import { type EventStore, signalOf } from './event-store';
import { canonicalJson } from './hash';
import type { AppendRequest, Checkpoint, EventMetadata } from './types';

export interface Command<P = unknown> {
  /** Chosen by the caller; the same id replayed returns the first result and appends nothing. */
  commandId: string;
  type: string;
  payload: P;
  metadata: EventMetadata;
}

/** What a command handler decided: the events to append and what to answer. */
export interface Decision<R> {
  appends: AppendRequest[];
  result: R;
}

export interface CommandOutcome<R> {
  result: R;
  /** The log position of the command's last event; readers that reach it see the change. */
  checkpoint: Checkpoint | null;
  /** True when the command id had been handled before. */
  duplicate: boolean;
}

interface CommandRow {
  payload_hash: string;
  result: unknown;
  transaction_id: string;
  position: string | null;
}

/**
 * Runs a command: load state, decide, append. A concurrent writer makes the
 * append fail on its expected version; then the command is decided again
 * against the new state. The command id is recorded in the append's
 * transaction, so a replay appends nothing and returns the first result.
 */
export class CommandExecutor {
  constructor(
    private readonly store: EventStore,
    private readonly maxAttempts = 10,
  ) {}

  async execute<R>(command: Command, decide: () => Promise<Decision<R>>): Promise<CommandOutcome<R>> {
    const payloadHash = hashPayload(command);
    for (let attempt = 1; ; attempt++) {
      const seen = await this.previous<R>(command.commandId, payloadHash);
      if (seen) return seen;
      const decision = await decide();
      try {
        const outcome = await this.store.dataSource.transaction(async (tx) => {
          const metadata = { ...command.metadata, commandId: command.commandId };
          const appended = await this.store.appendInTransaction(tx, decision.appends, metadata);
          const recorded = await this.record(tx, command, payloadHash, decision.result, appended.checkpoint);
          if (!recorded) throw new DuplicateCommand();
          return { outcome: { result: decision.result, checkpoint: appended.checkpoint, duplicate: false }, appended };
        });
        // The event types and checkpoint let readers of other types sleep on.
        if (outcome.outcome.checkpoint) this.store.committed(signalOf(outcome.appended));
        return outcome.outcome;
      } catch (error) {
        if (error instanceof DuplicateCommand) continue; // the other run committed first: answer as it did
        if (!(error instanceof WrongExpectedVersionError) || attempt >= this.maxAttempts) throw error;
        await sleep(Math.random() * 2 * attempt);
      }
    }
  }

  /** The outcome of a command already handled, or null; for handlers that answer some commands without executing them. */
  async recorded<R>(command: Command): Promise<CommandOutcome<R> | null> {
    return this.previous<R>(command.commandId, hashPayload(command));
  }

  private async previous<R>(commandId: string, payloadHash: string): Promise<CommandOutcome<R> | null> {
    const rows: CommandRow[] = await this.store.dataSource.query(
      `SELECT payload_hash, result, transaction_id, position FROM commands WHERE command_id = $1`,
      [commandId],
    );
    const row = rows[0];
    if (!row) return null;
    if (row.payload_hash !== payloadHash) throw new CommandIdReusedError(commandId);
    return {
      result: row.result as R,
      checkpoint: row.position === null ? null : { transactionId: row.transaction_id, position: Number(row.position) },
      duplicate: true,
    };
  }

  private async record(
    tx: EntityManager,
    command: Command,
    payloadHash: string,
    result: unknown,
    checkpoint: Checkpoint | null,
  ): Promise<boolean> {
    const rows = await tx.query(
      `INSERT INTO commands (command_id, command_type, payload_hash, result, position)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (command_id) DO NOTHING RETURNING 1`,
      [command.commandId, command.type, payloadHash, JSON.stringify(result ?? null), checkpoint?.position ?? null],
    );
    return rows.length === 1;
  }
}

class DuplicateCommand extends Error {}

function hashPayload(command: Command): string {
  return createHash('sha256')
    .update(canonicalJson({ type: command.type, payload: command.payload }))
    .digest('hex');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
