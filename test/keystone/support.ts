import type { Authenticate, PersonaName as MatrixPersona } from '../api/personas';
import { passwordOf, type PersonaName, type TestKeystone } from '../support/keystone';

/**
 * Users the policy tests need beyond TestKeystone's personas: a service user
 * with the `service` role only (the `nova` persona also holds `admin`, as
 * devstack grants it for Placement, so it would pass every admin rule) and a
 * system reader. Get-or-create, so a shared Keystone takes them again.
 */
export const EXTRA_USERS = {
  serviceOnly: { username: 'service-role-only', project: 'service', role: 'service' },
  systemReader: { username: 'system-reader', project: null, role: 'reader' },
} as const;

export async function ensureExtraUsers(keystone: TestKeystone): Promise<void> {
  const roles = (await keystone.request('GET', '/roles')).body as { roles: { id: string; name: string }[] };
  const roleId = (name: string) => roles.roles.find((r) => r.name === name)!.id;
  for (const user of Object.values(EXTRA_USERS)) {
    const found = (
      (await keystone.request('GET', `/users?name=${user.username}&domain_id=default`)).body as {
        users: { id: string }[];
      }
    ).users[0];
    const userId =
      found?.id ??
      (
        (
          await keystone.request('POST', '/users', {
            user: { name: user.username, domain_id: 'default', enabled: true, password: passwordOf(user.username) },
          })
        ).body as { user: { id: string } }
      ).user.id;
    const target = user.project ? `/projects/${keystone.projects[user.project].id}` : '/system';
    const granted = await keystone.request('PUT', `${target}/users/${userId}/roles/${roleId(user.role)}`);
    if (granted.status !== 204) throw new Error(`granting ${user.role} to ${user.username} answered ${granted.status}`);
  }
}

/** A password token of any user in domain Default, project-scoped or system-scoped. */
export async function passwordToken(
  keystone: TestKeystone,
  username: string,
  scope: { project: string } | 'system',
): Promise<{ token: string; projectId: string | null }> {
  const response = await fetch(`${keystone.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: username, domain: { name: 'Default' }, password: passwordOf(username) } },
        },
        scope:
          scope === 'system'
            ? { system: { all: true } }
            : { project: { name: scope.project, domain: { name: 'Default' } } },
      },
    }),
  });
  const token = response.headers.get('x-subject-token');
  if (response.status !== 201 || !token) throw new Error(`token for ${username} answered ${response.status}`);
  const body = (await response.json()) as { token: { project?: { id: string } } };
  return { token, projectId: body.token.project?.id ?? null };
}

/** The matrix's personas as real Keystone users; `service` sends its token as the service token too. */
const MATRIX_USERS: Record<MatrixPersona, PersonaName | keyof typeof EXTRA_USERS> = {
  // An admin of the project the manager, member and reader are in (the matrix's `own` project).
  admin: 'projectAdmin',
  manager: 'manager',
  member: 'member',
  reader: 'reader',
  service: 'serviceOnly',
  'other project member': 'otherMember',
  'system admin': 'systemAdmin',
  'system reader': 'systemReader',
};

/** Keystone tokens for the persona matrix: `X-Auth-Token` (and `X-Service-Token` for services), nothing else. */
export function keystoneTokens(keystone: TestKeystone): Authenticate {
  return async (persona) => {
    const who = MATRIX_USERS[persona.name];
    let issued: { token: string; projectId: string | null };
    if (who === 'serviceOnly' || who === 'systemReader') {
      const user = EXTRA_USERS[who];
      issued = await passwordToken(keystone, user.username, user.project ? { project: user.project } : 'system');
    } else {
      const token = await keystone.token(who);
      issued = { token, projectId: keystone.personas[who].projectId };
    }
    const headers: Record<string, string> = { 'X-Auth-Token': issued.token };
    if (persona.serviceToken) headers['X-Service-Token'] = issued.token;
    return { headers, projectId: issued.projectId };
  };
}

/** Settings of an API (and the services beside it) validating tokens with this Keystone as the `cyborg` user. */
export function keystoneSettings(keystone: TestKeystone, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AUTH_STRATEGY: 'keystone',
    KEYSTONE_AUTH_URL: keystone.authUrl,
    SERVICE_USERNAME: 'cyborg',
    SERVICE_PASSWORD: passwordOf('cyborg'),
    SERVICE_PROJECT_NAME: 'service',
    ...extra,
  };
}
