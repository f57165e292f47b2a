import {
  BadRequestException,
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { unstorableTextAt } from '@cyborg/messaging';

/**
 * Refuses, before any handler runs, a path parameter, query parameter or
 * body string that PostgreSQL could not store or compare (NUL, an unpaired
 * surrogate): a 400 naming where it is, rather than a database error (500).
 */
@Injectable()
export class StorableTextInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<Request>();
    const where =
      at('path parameter', request.params) ?? at('query parameter', request.query) ?? at('body at', request.body);
    if (where !== null) {
      throw new BadRequestException(
        `Invalid input: ${where} holds a character that cannot be stored (NUL or an unpaired UTF-16 surrogate).`,
      );
    }
    return next.handle();
  }
}

function at(label: string, value: unknown): string | null {
  const path = unstorableTextAt(value);
  return path === null ? null : `${label} ${path}`;
}
