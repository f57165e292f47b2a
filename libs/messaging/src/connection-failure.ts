/** Socket errors: the peer (PostgreSQL, an HTTP service) cannot be reached right now. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
/** PostgreSQL SQLSTATEs of a server going away: admin_shutdown, crash_shutdown, cannot_connect_now. */
const POSTGRES_GONE = new Set(['57P01', '57P02', '57P03']);
/** What the pg driver says when the server closed a connection under it. */
const DRIVER_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
];
/** TypeORM's errors for a transaction whose connection the server cut mid-way (TypeORM released it). */
const RELEASED_CONNECTION = new Set(['QueryRunnerAlreadyReleasedError', 'QueryRunnerProviderAlreadyReleasedError']);

/**
 * True when an error says a service this one depends on (its database) is
 * out of reach, not that the request was wrong or the code broken: the
 * caller should hear 503 and try again, not 500.
 */
export function isConnectionFailure(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    if (typeof e !== 'object') return false;
    const { code, message, name, driverError, cause } = e as {
      code?: unknown;
      message?: unknown;
      name?: unknown;
      driverError?: unknown;
      cause?: unknown;
    };
    if (typeof name === 'string' && RELEASED_CONNECTION.has(name)) return true;
    if (typeof code === 'string') {
      // Class 08: connection exceptions.
      if (SOCKET_CODES.has(code) || POSTGRES_GONE.has(code) || /^08[0-9A-Z]{3}$/.test(code)) return true;
    }
    if (typeof message === 'string' && DRIVER_MESSAGES.some((pattern) => pattern.test(message))) return true;
    e = driverError ?? cause;
  }
  return false;
}
