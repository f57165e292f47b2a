import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';
import { RpcFailure } from '../rpc-error';
import { isMalformedPayload } from './malformed-payload';

/**
 * Rejects undecodable messages before the handler runs. The validation pipe
 * does the same, but only for handlers that take a payload parameter.
 */
@Injectable()
export class MalformedMessageInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'rpc') {
      const data: unknown = context.switchToRpc().getData();
      if (isMalformedPayload(data)) {
        return throwError(() => RpcFailure.invalid(`invalid message: ${data.reason}`));
      }
    }
    return next.handle();
  }
}
