/**
 * The default policy. Roles `accelerator_user` and `accelerator_admin` exist
 * and are granted to project members and admins by default; a policy file
 * may remap any rule (e.g. `"accelerator_user": "role:accelerator_user"` to
 * require the role itself). Ownership of ARQs and the service token for
 * bind/unbind are enforced in code, not here, as upstream.
 */
export const DEFAULT_RULES: Readonly<Record<string, string>> = {
  admin_api: 'role:admin',
  system_admin: 'role:admin and system_scope:all',
  project_admin: 'role:admin and project_id:%(project_id)s',
  service_api: 'role:service',
  accelerator_admin: 'role:accelerator_admin or rule:admin_api',
  accelerator_user: 'role:accelerator_user or role:member or rule:accelerator_admin',
  project_reader: 'role:reader or rule:accelerator_user',

  'cyborg:arq:get_all': 'rule:project_reader or rule:service_api',
  'cyborg:arq:get_one': 'rule:project_reader or rule:service_api',
  'cyborg:arq:create': 'rule:accelerator_user or rule:service_api',
  'cyborg:arq:update': 'rule:accelerator_user or rule:service_api',
  'cyborg:arq:delete': 'rule:accelerator_user or rule:service_api',

  'cyborg:device_profile:get_all': 'rule:project_reader or rule:service_api',
  'cyborg:device_profile:get_one': 'rule:project_reader or rule:service_api',
  'cyborg:device_profile:create': 'rule:system_admin',
  'cyborg:device_profile:delete': 'rule:system_admin',

  'cyborg:device:get_all': 'rule:accelerator_admin or role:manager',
  'cyborg:device:get_one': 'rule:accelerator_admin or role:manager',
  'cyborg:device:disable': 'rule:system_admin',
  'cyborg:device:enable': 'rule:system_admin',

  'cyborg:deployable:get_all': 'rule:accelerator_admin or role:manager',
  'cyborg:deployable:get_one': 'rule:accelerator_admin or role:manager',
  'cyborg:deployable:program': 'rule:accelerator_admin',

  'cyborg:attribute:get_all': 'rule:accelerator_admin or role:manager',
  'cyborg:attribute:get_one': 'rule:accelerator_admin or role:manager',
  'cyborg:attribute:create': 'rule:accelerator_admin',
  'cyborg:attribute:delete': 'rule:accelerator_admin',

  'cyborg:placement_sync:get': 'rule:admin_api',

  // Audit reads every project's history: system admins and accelerator admins.
  audit_reader: 'rule:system_admin or rule:accelerator_admin',
  'cyborg:audit:read': 'rule:audit_reader',
  // A project reads its own usage; seeing other projects' (or all) takes an audit reader.
  'cyborg:usage:get': 'rule:project_reader or rule:audit_reader',
  'cyborg:usage:get_all_projects': 'rule:audit_reader',
};
