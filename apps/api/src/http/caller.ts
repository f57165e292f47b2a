import type { CallerDto } from '@cyborg/contracts';
import type { Request } from 'express';

/**
 * Who is asking, from the headers keystonemiddleware sets (or a test sets,
 * with AUTH_STRATEGY=noauth). The one place identity is read; policy builds
 * on what this returns.
 */
export function callerFrom(request: Request): CallerDto {
  return {
    userId: header(request, 'X-User-Id'),
    projectId: header(request, 'X-Project-Id'),
    roles: (header(request, 'X-Roles') ?? '')
      .split(',')
      .map((role) => role.trim())
      .filter((role) => role !== ''),
    service: false,
    requestId: (request as Request & { requestId?: string }).requestId ?? null,
  };
}

function header(request: Request, name: string): string | null {
  const value = request.get(name)?.trim();
  return value ? value : null;
}
