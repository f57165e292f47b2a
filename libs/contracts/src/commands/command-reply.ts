/** A place in the event log, as the event store's Checkpoint: (transaction id, position). */
export interface LogCheckpoint {
  transactionId: string;
  position: number;
}

/**
 * The conductor's answer to a command that callers read back: the result and
 * where the command's last event sits in the log, so the API can wait for its
 * read models to reach it before answering (read-your-writes).
 */
export interface CommandReply<R> {
  result: R;
  /** Null when the command appended nothing. */
  checkpoint: LogCheckpoint | null;
}
