import type { CallerDto } from '@cyborg/contracts';
import type { Request } from 'express';

/** keystonemiddleware's `service_token_roles` default: a service token must carry one of these. */
const SERVICE_TOKEN_ROLES = ['service'];

const IDENTITY_HEADERS = [
  'X-User-Id',
  'X-Project-Id',
  'X-Roles',
  'X-Service-Roles',
  'X-Service-Token',
  'OpenStack-System-Scope',
];

/**
 * Who is asking, from the headers keystonemiddleware sets (or a test sets,
 * with AUTH_STRATEGY=noauth). The one place identity is read; policy builds
 * on what this returns. A request with none of them is the single-machine
 * operator: an admin with a service token.
 */
export function callerFrom(request: Request): CallerDto {
  const requestId = (request as Request & { requestId?: string }).requestId ?? null;
  if (IDENTITY_HEADERS.every((name) => header(request, name) === null)) {
    return {
      userId: null,
      projectId: null,
      roles: ['admin', 'member', 'reader'],
      systemScope: 'all',
      service: true,
      requestId,
    };
  }
  const serviceRoles = list(header(request, 'X-Service-Roles'));
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
  };
}

/** Cyborg's `is_admin`: the literal role `admin` (§1.2). */
export function isAdmin(caller: CallerDto): boolean {
  return caller.roles.includes('admin');
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
