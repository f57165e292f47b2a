import type { CallerDto } from '@cyborg/contracts';
import type { Request } from 'express';

/** keystonemiddleware's `service_token_roles` default: a service token must carry one of these. */
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

/**
 * Who is asking, from the headers keystonemiddleware sets (or a test sets,
 * with AUTH_STRATEGY=noauth). The one place identity is read; policy and
 * `visibilityOf` build on what this returns.
 *
 * noauth only: a request with none of them is the single-machine operator,
 * the cloud admin as Keystone's bootstrap makes it (the `admin` role and the
 * roles it implies, on the `admin` project) with a service token. So anyone
 * who reaches a noauth API is admin.
 */
export function callerFrom(request: Request): CallerDto {
  const requestId = (request as Request & { requestId?: string }).requestId ?? null;
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
