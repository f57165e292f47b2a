import { ForbiddenException } from '@nestjs/common';
import type { CallerDto } from '@cyborg/contracts';
import { Policy } from '@cyborg/policy';

/**
 * Which project a read of the log or of usage covers. A caller passing
 * `allProjectsRule` (the admin, by default) reads every project, or the one
 * it asks for; anyone else reads its own project only, and asking for
 * another is a 403 naming the rule. `undefined`: every project.
 */
export function projectOfRead(
  policy: Policy,
  allProjectsRule: string,
  caller: CallerDto,
  asked: string | undefined,
): { allProjects: true; projectId: string | undefined } | { allProjects: false; projectId: string } {
  const wanted = asked?.trim() || undefined;
  if (policy.allows(allProjectsRule, caller)) return { allProjects: true, projectId: wanted };
  const own = caller.projectId ?? null;
  if (own === null || (wanted !== undefined && wanted !== own)) {
    throw new ForbiddenException(`Access was denied to the following resource: ${allProjectsRule}`);
  }
  return { allProjects: false, projectId: own };
}
