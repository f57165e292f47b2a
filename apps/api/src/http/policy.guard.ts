import { type CanActivate, type ExecutionContext, ForbiddenException, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { CallerDto } from '@cyborg/contracts';
import { Policy } from '@cyborg/policy';
import { callerFrom } from './caller';

const RULE = 'cyborg:policy-rule';

/** The policy rule a handler is guarded by, e.g. `cyborg:arq:create`. */
export const Authorize = (rule: string) => SetMetadata(RULE, rule);

/**
 * Checks each request against its handler's rule before anything else runs.
 * The target is the caller's own project and user, as upstream; whose ARQs,
 * events and usage are seen is `visibilityOf` where they are read.
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
    authorize(this.policy, rule, callerFrom(context.switchToHttp().getRequest<Request>()));
    return true;
  }
}

/** Upstream's denial for a rule not passed or a token of the wrong scope: 403 naming the rule. */
export function authorize(policy: Policy, rule: string, caller: CallerDto): void {
  if (!policy.allows(rule, caller))
    throw new ForbiddenException(`Access was denied to the following resource: ${rule}`);
}
