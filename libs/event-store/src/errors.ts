/** The stream moved since the caller read it: reload, decide again, retry. */
export class WrongExpectedVersionError extends Error {
  readonly code = 'wrong_expected_version';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | null,
  ) {
    super(`stream ${streamId} is at version ${actualVersion ?? 'unknown'}, expected ${expectedVersion}`);
    this.name = 'WrongExpectedVersionError';
  }
}

/** The same command id was used before with a different payload. */
export class CommandIdReusedError extends Error {
  readonly code = 'command_id_reused';
  constructor(readonly commandId: string) {
    super(`command id ${commandId} was already used for a different command`);
    this.name = 'CommandIdReusedError';
  }
}

export class InvalidAppendError extends Error {
  readonly code = 'invalid_append';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAppendError';
  }
}

/** The command id was recorded before (by this command or a concurrent run of it): nothing was written. */
export class CommandAlreadyHandledError extends Error {
  readonly code = 'command_already_handled';
  constructor(readonly commandId: string) {
    super(`command ${commandId} was handled before`);
    this.name = 'CommandAlreadyHandledError';
  }
}
