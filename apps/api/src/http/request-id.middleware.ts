import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { isRequestId, withLogContext } from '@cyborg/config';

/**
 * Every answer carries `x-openstack-request-id: req-<uuid>`, as
 * oslo.middleware does. A caller's own well-formed id (`req-<uuid>`, as
 * oslo.middleware's global_request_id checks) is taken as OpenStack's global
 * request id, so Nova's request and ours share one; anything else gets a new
 * one. Events record it, and every log line written for the request carries it.
 */
export function requestId(request: Request, response: Response, next: NextFunction): void {
  const given = request.get('x-openstack-request-id')?.trim();
  const id = isRequestId(given) ? given.toLowerCase() : `req-${randomUUID()}`;
  (request as Request & { requestId?: string }).requestId = id;
  response.setHeader('x-openstack-request-id', id);
  withLogContext({ requestId: id }, next);
}
