import type { DomainError } from '@cyborg/domain';
import { CommandIdReusedError } from '@cyborg/event-store';
import { RpcFailure } from '@cyborg/messaging';

/** The one mapping from a domain refusal to what callers see (the API turns status into HTTP as is). */
export function failureOf(error: DomainError): RpcFailure {
  switch (error.kind) {
    case 'invalid':
      return RpcFailure.invalid(error.message, { code: error.code });
    case 'forbidden':
      return RpcFailure.forbidden(error.message, { code: error.code });
    case 'not_found':
      return RpcFailure.notFound(error.message, { code: error.code });
    case 'conflict':
      return RpcFailure.conflict(error.message, { code: error.code });
  }
}

/**
 * Runs a command and states the executor's own refusal in the caller's
 * terms: a command id (an HTTP Idempotency-Key) reused for a different
 * command is the caller's mistake, 422 as the IETF idempotency draft says.
 */
export async function runCommand<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CommandIdReusedError) {
      throw RpcFailure.unprocessable('The idempotency key was already used for a different request.', {
        code: error.code,
      });
    }
    throw error;
  }
}
