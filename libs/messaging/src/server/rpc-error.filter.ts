import { Catch, HttpException, Logger, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import { isConnectionFailure } from '../connection-failure';
import { codeForStatus, isRpcError, RpcErrorCode, RpcFailure, type RpcError } from '../rpc-error';

const FORBIDDEN_MESSAGE = 'Forbidden resource';
const MAX_MESSAGE_LENGTH = 1000;

function clip(message: string): string {
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}...` : message;
}

function httpExceptionMessage(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') {
    return response;
  }
  const message: unknown = (response as Record<string, unknown>).message;
  if (Array.isArray(message)) {
    return message.map(String).join('; ');
  }
  return typeof message === 'string' ? message : exception.message;
}

/**
 * Converts anything a handler, guard, pipe or interceptor throws into the
 * `RpcError` wire shape. Unknown errors keep their message but never their
 * stack, which is logged here instead.
 */
export function toRpcError(exception: unknown): RpcError {
  if (exception instanceof RpcFailure) {
    return exception.toRpcError();
  }
  if (isRpcError(exception)) {
    return new RpcFailure(exception).toRpcError();
  }
  if (exception instanceof RpcException) {
    const error = exception.getError();
    if (isRpcError(error)) {
      return new RpcFailure(error).toRpcError();
    }
    if (error === FORBIDDEN_MESSAGE) {
      return RpcFailure.forbidden(FORBIDDEN_MESSAGE).toRpcError();
    }
    const message = typeof error === 'string' ? error : exception.message;
    return RpcFailure.internal(clip(message)).toRpcError();
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const message = clip(httpExceptionMessage(exception));
    return new RpcFailure({ code: codeForStatus(status), status, message }).toRpcError();
  }
  if (isConnectionFailure(exception)) {
    // The database (or another dependency) is away for now: the caller may try again.
    return RpcFailure.unavailable('A service the request needs is unavailable; try again shortly.').toRpcError();
  }
  if (exception instanceof Error) {
    return RpcFailure.internal(clip(exception.message || exception.name)).toRpcError();
  }
  return RpcFailure.internal('internal error').toRpcError();
}

@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger(RpcErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const error = toRpcError(exception);
    const where = host.getType() === 'rpc' ? ` on ${this.subjectOf(host)}` : '';
    if (error.status === 503 && isConnectionFailure(exception)) {
      this.logger.warn(`${error.code}${where}: ${exception instanceof Error ? exception.message : String(exception)}`);
    } else if (error.status >= 500) {
      const trace = exception instanceof Error ? exception.stack : String(exception);
      this.logger.error(`${error.code}${where}: ${error.message}`, trace);
    } else if (error.code === RpcErrorCode.invalidMessage) {
      // Our own services send only valid messages: a malformed one is a broken or hostile peer.
      this.logger.warn(`${error.code} (${error.status})${where}: ${error.message}`);
    } else {
      // Expected outcomes (not found, invalid input); events have no reply, so
      // this is the only trace a rejected event leaves.
      this.logger.debug(`${error.code} (${error.status})${where}: ${error.message}`);
    }
    return throwError(() => error);
  }

  private subjectOf(host: ArgumentsHost): string {
    const context: unknown = host.switchToRpc().getContext();
    if (typeof context === 'object' && context !== null && 'getSubject' in context) {
      const getSubject: unknown = context.getSubject;
      if (typeof getSubject === 'function') {
        return String(getSubject.call(context));
      }
    }
    return '?';
  }
}
