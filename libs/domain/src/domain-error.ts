/** What kind of "no" a rule gave; apps map it to a status (400, 403, 404, 409) in one place each. */
export type DomainErrorKind = 'invalid' | 'forbidden' | 'not_found' | 'conflict';

/**
 * A rule refused a command. Returned as a value by parse and decide
 * functions, never thrown, so a caller cannot forget the failure path.
 */
export class DomainError {
  constructor(
    readonly kind: DomainErrorKind,
    /** Stable machine-readable code, e.g. `device_profile_name_taken`. */
    readonly code: string,
    /** The text a person sees; matches Cyborg's faultstring where Cyborg has one. */
    readonly message: string,
  ) {}
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}
