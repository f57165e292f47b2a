/**
 * Cyborg's `is_admin`: the literal role `admin` (Keystone's implied roles
 * give it to no one below). The cloud admin of the 2023 secure-RBAC
 * revision, on a project-scoped token; it sees every project's ARQs.
 */
export function isAdmin(roles: readonly string[]): boolean {
  return roles.some((role) => role.toLowerCase() === 'admin');
}

/** Whose ARQs, events and usage a caller sees: every project's, or its own project's only. */
export interface ProjectVisibility {
  allProjects: boolean;
  /** The caller's project; a caller without one sees nothing that belongs to a project. */
  projectId: string | null;
}

/** As upstream hardcodes it for ARQs (§5.7): the admin role sees all, everyone else their own project. */
export function visibilityOf(caller: { roles: readonly string[]; projectId?: string | null }): ProjectVisibility {
  return { allProjects: isAdmin(caller.roles), projectId: caller.projectId ?? null };
}

/** Whether a thing of `projectId` is visible; things of no project are for those who see all projects. */
export function canSee(visibility: ProjectVisibility, projectId: string | null | undefined): boolean {
  return (
    visibility.allProjects || (projectId !== null && projectId !== undefined && projectId === visibility.projectId)
  );
}
