/**
 * Wire shape of every failed request. `status` is the HTTP status the API
 * answers with, so services decide it once and the API only translates.
 */
export interface RpcError {
  code: string;
  message: string;
  status: number;
  details?: unknown;
}

/** Well-known codes; services may use their own codes with a fitting status. */
export const RpcErrorCode = {
  invalidMessage: 'invalid_message',
  forbidden: 'forbidden',
  notFound: 'not_found',
  conflict: 'conflict',
  unprocessable: 'unprocessable',
  internal: 'internal',
  badReply: 'bad_reply',
  unavailable: 'unavailable',
  timeout: 'timeout',
} as const;

export type RpcErrorCodeName = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

export interface RpcFailureOptions {
  /** Overrides the default code of the helper, e.g. `device_in_use` for a 409. */
  code?: string;
  details?: unknown;
}

const DEFAULT_CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: RpcErrorCode.invalidMessage,
  403: RpcErrorCode.forbidden,
  404: RpcErrorCode.notFound,
  409: RpcErrorCode.conflict,
  422: RpcErrorCode.unprocessable,
  500: RpcErrorCode.internal,
  502: RpcErrorCode.badReply,
  503: RpcErrorCode.unavailable,
  504: RpcErrorCode.timeout,
};

/** Code used when only an HTTP status is known (e.g. a Nest HttpException). */
export function codeForStatus(status: number): string {
  return DEFAULT_CODE_BY_STATUS[status] ?? (status >= 500 ? RpcErrorCode.internal : `http_${status}`);
}

function isErrorStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 400 && value <= 599;
}

export function isRpcError(value: unknown): value is RpcError {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.code === 'string' &&
    typeof candidate.message === 'string' &&
    typeof candidate.status === 'number'
  );
}

/**
 * Error thrown by domain code and returned by `RpcClient`; it carries the
 * `RpcError` wire shape so it survives the hop unchanged.
 */
export class RpcFailure extends Error implements RpcError {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown;

  constructor(error: RpcError, options?: { cause?: unknown }) {
    super(error.message, options);
    this.name = 'RpcFailure';
    this.code = error.code;
    // A peer must not make the API answer 2xx for a failure.
    this.status = isErrorStatus(error.status) ? error.status : 500;
    if (error.details !== undefined) {
      this.details = error.details;
    }
  }

  static invalid(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(400, message, options);
  }

  static forbidden(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(403, message, options);
  }

  static notFound(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(404, message, options);
  }

  static conflict(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(409, message, options);
  }

  static unprocessable(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(422, message, options);
  }

  static internal(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(500, message, options);
  }

  static badReply(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(502, message, options);
  }

  static unavailable(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(503, message, options);
  }

  static timeout(message: string, options?: RpcFailureOptions): RpcFailure {
    return RpcFailure.withStatus(504, message, options);
  }

  static fromRpcError(error: RpcError): RpcFailure {
    return new RpcFailure(error);
  }

  private static withStatus(status: number, message: string, options: RpcFailureOptions = {}): RpcFailure {
    return new RpcFailure({
      code: options.code ?? codeForStatus(status),
      status,
      message,
      details: options.details,
    });
  }

  /** Plain wire shape; an Error instance would serialize to `{}`. */
  toRpcError(): RpcError {
    const error: RpcError = { code: this.code, message: this.message, status: this.status };
    if (this.details !== undefined) {
      error.details = this.details;
    }
    return error;
  }

  toJSON(): RpcError {
    return this.toRpcError();
  }
}
