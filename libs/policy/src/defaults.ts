/** oslo.policy's token scopes: a token is system-, domain- or project-scoped. */
export type TokenScope = 'system' | 'domain' | 'project';

/** One default rule, as oslo.policy's `RuleDefault`. */
export interface RuleDefault {
  name: string;
  check: string;
  /** The scopes the rule is for (`scope_types`); a rule without them takes any token. */
  scopeTypes?: readonly TokenScope[];
  /** The check before the 2023 revision, OR'd in while new defaults are not enforced and no file overrides the rule. */
  deprecated?: string;
  description: string;
}

const PROJECT: readonly TokenScope[] = ['project'];
/** Upstream's bridge for the persona rules (`DEPRECATED_ADMIN_OR_OWNER`). */
const ADMIN_OR_OWNER = 'is_admin:True or project_id:%(project_id)s';

/**
 * The defaults of upstream Cyborg master (`cyborg/policies/*.py`), OpenStack's
 * 2023 secure-RBAC revision: `admin` on a project-scoped token is the cloud
 * admin, `manager` manages its project, `member` and `reader` act and read in
 * it, `service` is for services. Every API rule is for project-scoped tokens
 * only, as upstream (a system-scoped token is refused). The target is always
 * the caller's own project, so `project_id:%(project_id)s` only says the token
 * has a project; whose ARQs, events and usage are seen is decided by
 * `visibilityOf` (contracts), as upstream hardcodes it.
 */
export const DEFAULT_RULES: readonly RuleDefault[] = [
  { name: 'admin_api', check: 'role:admin', description: 'the cloud admin' },
  {
    name: 'project_admin_api',
    check: 'role:admin and project_id:%(project_id)s',
    description: 'an admin of the project',
  },
  {
    name: 'project_manager_api',
    check: 'role:manager and project_id:%(project_id)s',
    description: 'a manager of the project',
  },
  {
    name: 'project_member_api',
    check: 'role:member and project_id:%(project_id)s',
    description: 'a member of the project',
  },
  {
    name: 'project_reader_api',
    check: 'role:reader and project_id:%(project_id)s',
    description: 'a reader of the project',
  },
  { name: 'service_api', check: 'role:service', description: 'a service user (Nova)' },
  {
    name: 'project_member_or_admin',
    check: 'rule:project_member_api or rule:admin_api',
    deprecated: ADMIN_OR_OWNER,
    description: 'a member of the project or the cloud admin',
  },
  {
    name: 'project_reader_or_admin',
    check: 'rule:project_reader_api or rule:admin_api',
    deprecated: ADMIN_OR_OWNER,
    description: 'a reader of the project or the cloud admin',
  },
  {
    name: 'project_manager_or_admin',
    check: 'rule:project_manager_api or rule:admin_api',
    deprecated: ADMIN_OR_OWNER,
    description: 'a manager of the project or the cloud admin',
  },
  {
    name: 'project_member_or_service',
    check: 'rule:project_member_api or rule:service_api',
    deprecated: ADMIN_OR_OWNER,
    description: 'a member of the project or a service',
  },

  // Upstream's legacy rule names, kept so older policy files still read.
  { name: 'default', check: 'rule:admin_or_owner', description: 'legacy: admin or owner' },
  { name: 'is_admin', check: 'rule:admin_api', description: 'legacy: the cloud admin' },
  { name: 'admin_or_owner', check: ADMIN_OR_OWNER, description: 'legacy: admin, or any token of the project' },
  { name: 'admin_or_user', check: 'is_admin:True or user_id:%(user_id)s', description: 'legacy: admin or the user' },
  { name: 'allow', check: '@', description: 'legacy: everyone' },
  { name: 'deny', check: '!', description: 'legacy: no one' },

  api('arq', 'get_all', 'rule:project_reader_or_admin', 'rule:admin_or_owner', 'list ARQs'),
  api('arq', 'get_one', 'rule:project_reader_or_admin', 'rule:admin_or_owner', 'show an ARQ'),
  api('arq', 'create', 'rule:project_member_or_service', 'rule:project_member_or_admin', 'create ARQs'),
  api('arq', 'update', 'rule:project_member_or_service', 'rule:admin_or_owner', 'bind or unbind ARQs'),
  api('arq', 'delete', 'rule:project_member_or_service', 'rule:admin_or_owner', 'delete ARQs'),
  api('device_profile', 'get_all', 'rule:project_reader_or_admin', 'rule:admin_or_owner', 'list device profiles'),
  api('device_profile', 'get_one', 'rule:project_reader_or_admin', 'rule:admin_or_owner', 'show a device profile'),
  api('device_profile', 'create', 'rule:admin_api', 'rule:is_admin', 'create a device profile'),
  api('device_profile', 'delete', 'rule:admin_api', 'rule:is_admin', 'delete device profiles'),
  api('device', 'get_all', 'rule:project_manager_or_admin', 'rule:admin_api', 'list devices'),
  api('device', 'get_one', 'rule:project_manager_or_admin', 'rule:admin_api', 'show a device'),
  api('device', 'disable', 'rule:admin_api', undefined, 'disable a device'),
  api('device', 'enable', 'rule:admin_api', undefined, 'enable a device'),
  api('deployable', 'get_all', 'rule:project_manager_or_admin', 'rule:admin_api', 'list deployables'),
  api('deployable', 'get_one', 'rule:project_manager_or_admin', 'rule:admin_api', 'show a deployable'),
  api('deployable', 'program', 'rule:admin_api', undefined, 'program an FPGA'),
  api('attribute', 'get_all', 'rule:project_manager_or_admin', 'rule:admin_api', 'list attributes'),
  api('attribute', 'get_one', 'rule:project_manager_or_admin', 'rule:admin_api', 'show an attribute'),
  api('attribute', 'create', 'rule:admin_api', undefined, 'create attributes'),
  api('attribute', 'delete', 'rule:admin_api', undefined, 'delete an attribute'),

  // This project's extensions (no upstream rule), in the same personas.
  api('placement_sync', 'get', 'rule:admin_api', undefined, 'show Placement sync status'),
  api('event', 'get_all', 'rule:project_reader_or_admin', undefined, "list the events of the caller's project"),
  api('event', 'get_all_projects', 'rule:admin_api', undefined, 'list the whole event log, any project'),
  api('arq', 'history', 'rule:project_reader_or_admin', undefined, "an ARQ's history (the ARQ must be visible)"),
  api('device', 'history', 'rule:admin_api', undefined, "a device's history"),
  api('host', 'history', 'rule:admin_api', undefined, "a host's history"),
  api('host', 'get_all', 'rule:admin_api', undefined, 'list hosts: agent, liveness, counts'),
  api('host', 'get_one', 'rule:admin_api', undefined, "a host's devices, deployables and attach handles"),
  api('bind_metrics', 'get', 'rule:admin_api', undefined, 'bind outcomes and latency from the metrics'),
  api('log_reader', 'get_all', 'rule:admin_api', undefined, 'where the projections and the relay stand in the log'),
  api('device', 'release_fence', 'rule:admin_api', undefined, 'release a recovered device from its health fence'),
  api('device', 'reshape', 'rule:admin_api', undefined, "change a device's vGPU type, MIG layout or VF count"),
  api('usage', 'get', 'rule:project_reader_or_admin', undefined, "the caller's project's usage"),
  api('usage', 'get_all_projects', 'rule:admin_api', undefined, "every project's usage, or another's"),
];

function api(
  resource: string,
  action: string,
  check: string,
  deprecated: string | undefined,
  description: string,
): RuleDefault {
  return {
    name: `cyborg:${resource}:${action}`,
    check,
    scopeTypes: PROJECT,
    description,
    ...(deprecated && { deprecated }),
  };
}
