import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isConnectionFailure, RpcFailure } from '@cyborg/messaging';
import { cyborgErrorBody, UnresolvedArqsError } from './cyborg-error';

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

const INTERNAL = { status: 500, message: 'The server could not complete the request; see its log for details' };
/** PostgreSQL (or another dependency) is out of reach for now: not the caller's fault, worth a retry. */
const UNAVAILABLE = { status: 503, message: 'A service the request needs is unavailable; try again shortly.' };

/** The one place errors become HTTP answers: every error in Cyborg's shape, never a stack trace. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const request = host.switchToHttp().getRequest<Request>();
    const { status, message } = this.describe(error);
    if (status >= 500) {
      this.logger.error({
        msg: 'request failed',
        method: request.method,
        path: request.path,
        requestId: response.getHeader('x-openstack-request-id'),
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (response.headersSent) return;
    if (error instanceof UnresolvedArqsError) {
      response.status(error.status).json({ error_message: error.message });
      return;
    }
    response.status(status).json(cyborgErrorBody(status, message));
  }

  private describe(error: unknown): { status: number; message: string } {
    if (error instanceof RpcFailure) return { status: error.status, message: error.message };
    if (error instanceof UnresolvedArqsError) return { status: error.status, message: error.message };
    // Nest wraps body-parser errors in an HttpException; the parser's own type says what happened.
    const cause = error instanceof HttpException ? (error.cause as BodyParserError | undefined) : undefined;
    if (cause?.type) return this.describeParserError(cause, error as HttpException);
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const text = typeof body === 'string' ? body : (body as { message?: unknown }).message;
      const message = Array.isArray(text) ? text.join('; ') : typeof text === 'string' ? text : error.message;
      return { status: error.getStatus(), message };
    }
    const parser = error as BodyParserError;
    if (parser?.type) return this.describeParserError(parser, error);
    if (isConnectionFailure(error)) return UNAVAILABLE;
    return INTERNAL;
  }

  private describeParserError(parser: BodyParserError, error: unknown): { status: number; message: string } {
    if (parser.type === 'entity.parse.failed') return { status: 400, message: 'Request is not in valid JSON format' };
    if (parser.type === 'entity.too.large') {
      return { status: 413, message: `Request body is larger than the limit of ${parser.limit} bytes` };
    }
    if (parser.status && parser.status < 500)
      return { status: parser.status, message: String((error as Error).message) };
    return INTERNAL;
  }
}
