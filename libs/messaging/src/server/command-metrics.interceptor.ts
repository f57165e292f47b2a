import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { type Observable, tap } from 'rxjs';
import { commandOfSubject, processMetrics, secondsSince } from '@cyborg/metrics';
import { toRpcError } from './rpc-error.filter';

/** Counts and times the commands a service answers (`cyborg_commands_total`, `cyborg_command_duration_seconds`). */
export class CommandMetricsInterceptor implements NestInterceptor {
  private readonly metrics = processMetrics();

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const nats = context.switchToRpc().getContext<{ getSubject?: () => string }>();
    const command = commandOfSubject(typeof nats?.getSubject === 'function' ? nats.getSubject() : 'unknown');
    const started = performance.now();
    const record = (outcome: string) => {
      this.metrics.commands.inc({ command, outcome });
      this.metrics.commandDuration.observe({ command, outcome }, secondsSince(started));
    };
    return next.handle().pipe(
      tap({
        complete: () => record('ok'),
        error: (error: unknown) => record(toRpcError(error).code),
      }),
    );
  }
}
