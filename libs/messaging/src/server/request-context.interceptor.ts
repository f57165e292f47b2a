import {
  type CallHandler,
  type ExecutionContext,
  Logger,
  type LoggerService,
  type NestInterceptor,
} from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { isRequestId, type LogContext, withLogContext } from '@cyborg/config';
import { REQUEST_ID_HEADER } from '../client/rpc-client';

interface NatsContextLike {
  getSubject?: () => string;
  getHeaders?: () => { get(key: string): string } | undefined;
}

/**
 * Runs each handler with the request it serves on every log line (and every
 * request it sends on): OpenStack's request id from the command's caller or
 * the request's header, the command id, the subject.
 */
export class RequestContextInterceptor implements NestInterceptor {
  /** `logger`: the service's own, so its answers are logged under its name even beside other services. */
  constructor(private readonly logger: LoggerService = new Logger('rpc')) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const rpc = context.switchToRpc();
    const nats = rpc.getContext<NatsContextLike>();
    const payload: unknown = rpc.getData();
    const fields: LogContext = {};
    const subject = typeof nats?.getSubject === 'function' ? nats.getSubject() : undefined;
    if (subject) fields.subject = subject;
    const requestId = requestIdOf(payload) ?? headerOf(nats, REQUEST_ID_HEADER);
    if (isRequestId(requestId)) fields.requestId = requestId;
    const commandId = field(payload, 'commandId');
    if (typeof commandId === 'string') fields.commandId = commandId;
    const started = performance.now();
    // One debug line per answer: with LOG_LEVEL=debug, a request id finds every command it caused.
    const answered = (outcome: string) =>
      this.logger.debug?.({
        msg: 'answered',
        ...fields,
        outcome,
        duration_ms: Math.round((performance.now() - started) * 100) / 100,
      });
    return withLogContext(fields, () =>
      next.handle().pipe(
        tap({
          complete: () => answered('ok'),
          error: (error: unknown) => answered(error instanceof Error ? error.name : 'error'),
        }),
      ),
    );
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function requestIdOf(payload: unknown): string | undefined {
  const id = field(field(payload, 'caller'), 'requestId');
  return typeof id === 'string' ? id : undefined;
}

function headerOf(nats: NatsContextLike | undefined, name: string): string | undefined {
  try {
    const value = nats?.getHeaders?.()?.get(name);
    return value ? value : undefined;
  } catch {
    return undefined;
  }
}
