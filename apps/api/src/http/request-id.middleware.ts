import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** Every answer carries `x-openstack-request-id: req-<uuid>`, as oslo.middleware does; events record it. */
export function requestId(request: Request, response: Response, next: NextFunction): void {
  const id = `req-${randomUUID()}`;
  (request as Request & { requestId?: string }).requestId = id;
  response.setHeader('x-openstack-request-id', id);
  next();
}
