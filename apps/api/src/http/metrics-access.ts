import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type MetricsAccess, metricsRefusal, METRICS_WWW_AUTHENTICATE } from '@cyborg/metrics';
import { cyborgErrorBody } from './cyborg-error';

/** Guards `/metrics` before Keystone is asked: Prometheus presents METRICS_TOKEN, not a Keystone token. */
export function metricsAccess(access: MetricsAccess): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const refusal = metricsRefusal(access, request.get('authorization'));
    if (!refusal) return next();
    response.setHeader('WWW-Authenticate', METRICS_WWW_AUTHENTICATE);
    response.status(401).json(cyborgErrorBody(401, refusal));
  };
}
