import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { Policy } from '@cyborg/policy';
import { callerFrom } from './caller';

const RULE = 'cyborg:policy-rule';

/** The policy rule a handler is guarded by, e.g. `cyborg:arq:create`. */
export const Authorize = (rule: string) => SetMetadata(RULE, rule);

/**
 * Checks each request against its handler's rule before anything else runs.
 * The target is the caller's own project and user, as upstream; per-ARQ
 * ownership is checked where the ARQ is read.
 */
@Injectable()
export class PolicyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly policy: Policy,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const rule = this.reflector.get<string | undefined>(RULE, context.getHandler());
    if (!rule) return true;
    const caller = callerFrom(context.switchToHttp().getRequest<Request>());
    const credentials = {
      userId: caller.userId ?? null,
      projectId: caller.projectId ?? null,
      roles: caller.roles,
      systemScope: caller.systemScope ?? null,
    };
    if (this.policy.allows(rule, credentials, { project_id: caller.projectId, user_id: caller.userId })) return true;
    throw new ForbiddenException(`Access was denied to the following resource: ${rule}`);
  }
}
