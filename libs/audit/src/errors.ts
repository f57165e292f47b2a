/** A query an operator got wrong (a bad filter, time or position): the API answers 400, the CLI exits 2. */
export class AuditInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditInputError';
  }
}

/** A page marker that names no event of the log. */
export class EventMarkerNotFoundError extends AuditInputError {
  constructor(readonly marker: string) {
    super(`Marker ${marker} not found`);
    this.name = 'EventMarkerNotFoundError';
  }
}
