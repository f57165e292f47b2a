import { UnauthorizedException } from '@nestjs/common';
import type { CallerDto } from '@cyborg/contracts';
import type { AuthenticatedRequest } from '@cyborg/keystone';
import type { Request } from 'express';

/** noauth: keystonemiddleware's `service_token_roles` default, for X-Service-Roles. */
const SERVICE_TOKEN_ROLES = ['service'];

/** The noauth operator's roles: `admin` and what Keystone's bootstrap makes it imply. */
const NOAUTH_OPERATOR_ROLES = ['admin', 'manager', 'member', 'reader'];
const NOAUTH_OPERATOR_PROJECT = 'admin';

const IDENTITY_HEADERS = [
  'X-User-Id',
  'X-Project-Id',
  'X-Domain-Id',
  'X-Roles',
  'X-Service-Roles',
  'X-Service-Token',
  'OpenStack-System-Scope',
];

/** A request once the authentication middleware has run: who it speaks for, if anyone. */
type WithCaller = Request & { requestId?: string; caller?: CallerDto };

/**
 * Who is asking: what the authentication middleware (`authentication.ts`)
 * found, from the Keystone token under AUTH_STRATEGY=keystone or the
 * identity headers under noauth. The one place handlers read identity;
 * policy and `visibilityOf` build on it. Never falls back to headers: a
 * request the middleware did not authenticate is 401.
 */
export function callerFrom(request: Request): CallerDto {
  const caller = (request as WithCaller).caller;
  if (!caller) throw new UnauthorizedException('The request you have made requires authentication.');
  return caller;
}

/** The caller when the request was authenticated (public routes may not be); null otherwise. */
export function authenticatedCaller(request: Request): CallerDto | null {
  return (request as WithCaller).caller ?? null;
}

export function setCaller(request: Request, caller: CallerDto): void {
  (request as WithCaller).caller = caller;
}

/** AUTH_STRATEGY=keystone: identity from Keystone's answers for the request's tokens, nothing else. */
export function callerFromTokens(request: Request, auth: AuthenticatedRequest): CallerDto {
  const { user } = auth;
  return {
    userId: user.userId,
    projectId: user.projectId,
    roles: [...user.roles],
    systemScope: user.systemScope,
    service: auth.service !== null,
    requestId: (request as WithCaller).requestId ?? null,
    ...(user.domainId && { domainId: user.domainId }),
  };
}

/**
 * AUTH_STRATEGY=noauth: who is asking, from the headers keystonemiddleware
 * sets (or a test sets).
 *
 * A request with none of them is the single-machine operator, the cloud
 * admin as Keystone's bootstrap makes it (the `admin` role and the roles it
 * implies, on the `admin` project) with a service token. So anyone who
 * reaches a noauth API is admin.
 */
export function callerFromHeaders(request: Request): CallerDto {
  const requestId = (request as WithCaller).requestId ?? null;
  if (IDENTITY_HEADERS.every((name) => header(request, name) === null)) {
    return {
      userId: null,
      projectId: NOAUTH_OPERATOR_PROJECT,
      roles: [...NOAUTH_OPERATOR_ROLES],
      systemScope: null,
      service: true,
      requestId,
    };
  }
  const serviceRoles = list(header(request, 'X-Service-Roles'));
  // keystonemiddleware sets X-Domain-Id for a domain-scoped token.
  const domainId = header(request, 'X-Domain-Id');
  return {
    userId: header(request, 'X-User-Id'),
    projectId: header(request, 'X-Project-Id'),
    roles: list(header(request, 'X-Roles')),
    // keystonemiddleware sets OpenStack-System-Scope for a system-scoped token.
    systemScope: header(request, 'OpenStack-System-Scope'),
    // Under noauth nothing validates X-Service-Token, so Nova sending one counts, as X-Service-Roles would.
    service:
      serviceRoles.some((role) => SERVICE_TOKEN_ROLES.includes(role)) || header(request, 'X-Service-Token') !== null,
    requestId,
    ...(domainId && { domainId }),
  };
}

function header(request: Request, name: string): string | null {
  const value = request.get(name)?.trim();
  return value ? value : null;
}

function list(value: string | null): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
