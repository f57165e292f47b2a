import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger as PinoLogger } from 'pino';
import type { Params } from 'nestjs-pino';
import { type CyborgMetrics, secondsSince } from '@cyborg/metrics';
import { authenticatedCaller } from './caller';

/** The route template a request matched (`/v2/accelerator_requests/:uuid`), never the raw URL. */
export function routeOf(request: IncomingMessage): string {
  const route = (request as Request).route as { path?: unknown } | undefined;
  // The access log's own catch-all (`{/*splat}`) is what an unknown path matched.
  if (route?.path === undefined || String(route.path).includes('*')) return 'unmatched';
  return String(route.path);
}

/** `cyborg_http_requests_total` and `cyborg_http_request_duration_seconds`, per route template. */
export function httpMetrics(metrics: CyborgMetrics) {
  return (request: Request, response: Response, next: NextFunction): void => {
    const started = performance.now();
    // `close`, not `finish`: a live stream the client left never finishes, and still counts.
    response.once('close', () => {
      const labels = { method: request.method, route: routeOf(request), status: String(response.statusCode) };
      metrics.httpRequests.inc(labels);
      metrics.httpRequestDuration.observe(labels, secondsSince(started));
    });
    next();
  };
}

/** One line per request: method, route, status, duration, request id, user and project. */
function accessLine(request: IncomingMessage, response: ServerResponse, durationMs: number) {
  // A request refused before it was authenticated (a 401, an open route) speaks for no one.
  const caller = authenticatedCaller(request as Request);
  return {
    requestId: (request as Request & { requestId?: string }).requestId,
    method: request.method,
    route: routeOf(request),
    path: (request as Request).path,
    status: response.statusCode,
    duration_ms: durationMs,
    user_id: caller?.userId ?? null,
    project_id: caller?.projectId ?? null,
  };
}

/** nestjs-pino's access log (pino-http) over the service's own pino logger. */
export function accessLogParams(logger: PinoLogger): Params {
  return {
    pinoHttp: {
      logger,
      // The id is chosen by the request-id middleware, which runs first.
      genReqId: (request) => (request as Request & { requestId?: string }).requestId ?? '',
      customAttributeKeys: { responseTime: 'duration_ms' },
      // The line is written from accessLine alone: no raw headers, so no token, ever.
      serializers: { req: () => undefined, res: () => undefined },
      customLogLevel: (_request, response, error) =>
        error || response.statusCode >= 500 ? 'error' : response.statusCode >= 400 ? 'warn' : 'info',
      customSuccessMessage: (request, response) => `${request.method} ${routeOf(request)} ${response.statusCode}`,
      customErrorMessage: (request, response) => `${request.method} ${routeOf(request)} ${response.statusCode}`,
      customSuccessObject: (request, response, value: { duration_ms?: number }) =>
        accessLine(request, response, value.duration_ms ?? 0),
      customErrorObject: (request, response, error, value: { duration_ms?: number }) => ({
        ...accessLine(request, response, value.duration_ms ?? 0),
        error: error.message,
      }),
    },
  };
}
