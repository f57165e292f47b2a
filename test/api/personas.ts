import { randomUUID } from 'node:crypto';

/**
 * The personas of OpenStack's 2023 secure-RBAC revision and what each may do
 * under the default policy (upstream Cyborg master's, `enforce_scope` and
 * `enforce_new_defaults` on). The tables here are the expectations; how a
 * persona proves who it is (identity headers under noauth, a Keystone token
 * under keystone) is the `Authenticate` function a spec passes in, so the same
 * matrix runs against either.
 */
export type PersonaName =
  'admin' | 'manager' | 'member' | 'reader' | 'service' | 'other project member' | 'system admin' | 'system reader';

export interface Persona {
  name: PersonaName;
  /** The project the token is scoped to; null for a system-scoped token. */
  project: 'own' | 'other' | 'service' | null;
  /** The roles assigned, with the ones Keystone's bootstrap makes them imply. */
  roles: readonly string[];
  /** A system-scoped token (`OpenStack-System-Scope: all`). */
  system: boolean;
  /** Sends a service token too, as Nova's service user does. */
  serviceToken: boolean;
}

const ADMIN_ROLES = ['admin', 'manager', 'member', 'reader'];

export const PERSONAS: readonly Persona[] = [
  { name: 'admin', project: 'own', roles: ADMIN_ROLES, system: false, serviceToken: false },
  { name: 'manager', project: 'own', roles: ['manager', 'member', 'reader'], system: false, serviceToken: false },
  { name: 'member', project: 'own', roles: ['member', 'reader'], system: false, serviceToken: false },
  { name: 'reader', project: 'own', roles: ['reader'], system: false, serviceToken: false },
  // Nova's service user, in the service project, its token sent as the service token too.
  { name: 'service', project: 'service', roles: ['service'], system: false, serviceToken: true },
  { name: 'other project member', project: 'other', roles: ['member', 'reader'], system: false, serviceToken: false },
  { name: 'system admin', project: null, roles: ADMIN_ROLES, system: true, serviceToken: false },
  { name: 'system reader', project: null, roles: ['reader'], system: true, serviceToken: false },
];

export const persona = (name: PersonaName): Persona => PERSONAS.find((p) => p.name === name)!;

/** What a request as a persona carries, and the project its token is scoped to. */
export interface Authenticated {
  headers: Record<string, string>;
  projectId: string | null;
}

/** How a persona authenticates: the one thing a noauth and a Keystone run do differently. */
export type Authenticate = (persona: Persona) => Promise<Authenticated>;

/** noauth: the headers keystonemiddleware would set for each persona's token. */
export const NOAUTH_PROJECTS = { own: 'project-p', other: 'project-q', service: 'service' } as const;

export const noauthHeaders: Authenticate = async (p) => {
  const projectId = p.project === null ? null : NOAUTH_PROJECTS[p.project];
  const headers: Record<string, string> = {
    'X-User-Id': `user-${p.name.replace(/ /g, '-')}`,
    'X-Roles': p.roles.join(','),
  };
  if (projectId !== null) headers['X-Project-Id'] = projectId;
  if (p.system) headers['OpenStack-System-Scope'] = 'all';
  if (p.serviceToken) headers['X-Service-Roles'] = p.roles.join(',');
  return { headers, projectId };
};

const project: PersonaName[] = ['admin', 'manager', 'member', 'reader', 'other project member'];
const arqWriters: PersonaName[] = ['admin', 'manager', 'member', 'service', 'other project member'];
const managers: PersonaName[] = ['admin', 'manager'];
const admin: PersonaName[] = ['admin'];

/** What the matrix knows when it builds a request: who is asking and the projects of the personas. */
export interface RequestContext {
  projectOf: (name: PersonaName) => string | null;
}

export interface Endpoint {
  rule: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: (context: RequestContext) => string;
  body?: () => unknown;
  /** Who passes the rule; everyone else gets 403 `Access was denied to the following resource: <rule>`. */
  allowed: readonly PersonaName[];
  /** The rule checked before `rule`: who fails both is denied naming this one. */
  after?: string;
}

const id = () => randomUUID();

/**
 * Every guarded endpoint, with the personas the default policy lets through.
 * The requests name things that do not exist, so one that passes policy
 * answers 404 or 400 (or the service-token 403 of Cyborg §5.7) and changes
 * nothing; system-scoped tokens pass no rule (every rule is for projects).
 */
export const ENDPOINTS: readonly Endpoint[] = [
  { rule: 'cyborg:device_profile:get_all', method: 'GET', path: () => '/v2/device_profiles', allowed: project },
  { rule: 'cyborg:device_profile:get_one', method: 'GET', path: () => `/v2/device_profiles/${id()}`, allowed: project },
  {
    rule: 'cyborg:device_profile:create',
    method: 'POST',
    path: () => '/v2/device_profiles',
    body: () => [{ name: `m-${id()}`, groups: [{ 'resources:NO_SUCH': 'x' }] }],
    allowed: admin,
  },
  { rule: 'cyborg:device_profile:delete', method: 'DELETE', path: () => `/v2/device_profiles/${id()}`, allowed: admin },
  { rule: 'cyborg:arq:get_all', method: 'GET', path: () => '/v2/accelerator_requests', allowed: project },
  { rule: 'cyborg:arq:get_one', method: 'GET', path: () => `/v2/accelerator_requests/${id()}`, allowed: project },
  {
    rule: 'cyborg:arq:create',
    method: 'POST',
    path: () => '/v2/accelerator_requests',
    body: () => ({ device_profile_name: `none-${id()}` }),
    allowed: arqWriters,
  },
  {
    rule: 'cyborg:arq:update',
    method: 'PATCH',
    path: () => '/v2/accelerator_requests',
    body: () => ({ [id()]: [{ path: '/hostname', op: 'add', value: 'h' }] }),
    allowed: arqWriters,
  },
  { rule: 'cyborg:arq:delete', method: 'DELETE', path: () => `/v2/accelerator_requests/${id()}`, allowed: arqWriters },
  { rule: 'cyborg:device:get_all', method: 'GET', path: () => '/v2/devices', allowed: managers },
  { rule: 'cyborg:device:get_one', method: 'GET', path: () => `/v2/devices/${id()}`, allowed: managers },
  { rule: 'cyborg:device:disable', method: 'POST', path: () => `/v2/devices/${id()}/disable`, allowed: admin },
  { rule: 'cyborg:device:enable', method: 'POST', path: () => `/v2/devices/${id()}/enable`, allowed: admin },
  { rule: 'cyborg:deployable:get_all', method: 'GET', path: () => '/v2/deployables', allowed: managers },
  { rule: 'cyborg:deployable:get_one', method: 'GET', path: () => `/v2/deployables/${id()}`, allowed: managers },
  {
    rule: 'cyborg:deployable:program',
    method: 'PATCH',
    path: () => `/v2/deployables/${id()}/program`,
    body: () => [{ op: 'replace', path: '/program', value: [{ image_uuid: id() }] }],
    allowed: admin,
  },
  { rule: 'cyborg:attribute:get_all', method: 'GET', path: () => '/v2/attributes', allowed: managers },
  { rule: 'cyborg:attribute:get_one', method: 'GET', path: () => `/v2/attributes/${id()}`, allowed: managers },
  {
    rule: 'cyborg:attribute:create',
    method: 'POST',
    path: () => '/v2/attributes',
    body: () => ({ deployable_id: 987654321, key: 'k', value: 'v' }),
    allowed: admin,
  },
  { rule: 'cyborg:attribute:delete', method: 'DELETE', path: () => `/v2/attributes/${id()}`, allowed: admin },
  { rule: 'cyborg:placement_sync:get', method: 'GET', path: () => '/v2/placement_sync', allowed: admin },
  { rule: 'cyborg:event:get_all', method: 'GET', path: () => '/v2/events?limit=1', allowed: project },
  {
    rule: 'cyborg:event:get_all_projects',
    method: 'GET',
    path: ({ projectOf }) => `/v2/events?limit=1&project_id=${projectOf('other project member')}`,
    // The other project's member asks for its own project: that is no other project's.
    allowed: ['admin', 'other project member'],
    after: 'cyborg:event:get_all',
  },
  {
    rule: 'cyborg:arq:history',
    method: 'GET',
    path: () => `/v2/accelerator_requests/${id()}/history`,
    allowed: project,
  },
  { rule: 'cyborg:device:history', method: 'GET', path: () => `/v2/devices/${id()}/history`, allowed: admin },
  { rule: 'cyborg:host:history', method: 'GET', path: () => `/v2/hosts/h-${id()}/history`, allowed: admin },
  {
    rule: 'cyborg:arq:history',
    method: 'GET',
    path: () => `/v2/accelerator_requests/${id()}/state_at`,
    allowed: project,
  },
  { rule: 'cyborg:device:history', method: 'GET', path: () => `/v2/devices/${id()}/state_at`, allowed: admin },
  { rule: 'cyborg:host:history', method: 'GET', path: () => `/v2/hosts/h-${id()}/state_at`, allowed: admin },
  { rule: 'cyborg:host:get_all', method: 'GET', path: () => '/v2/hosts', allowed: admin },
  { rule: 'cyborg:host:get_one', method: 'GET', path: () => `/v2/hosts/h-${id()}`, allowed: admin },
  { rule: 'cyborg:log_reader:get_all', method: 'GET', path: () => '/v2/log_readers', allowed: admin },
  { rule: 'cyborg:bind_metrics:get', method: 'GET', path: () => '/v2/bind_metrics', allowed: admin },
  { rule: 'cyborg:event:get_all', method: 'GET', path: () => '/v2/binds', allowed: project },
  // A bad resume id answers 400 once policy let the request through, so the stream never opens here.
  { rule: 'cyborg:event:get_all', method: 'GET', path: () => '/v2/events/stream?after=x', allowed: project },
  { rule: 'cyborg:usage:get', method: 'GET', path: () => '/v2/usage', allowed: project },
  {
    rule: 'cyborg:usage:get_all_projects',
    method: 'GET',
    path: ({ projectOf }) => `/v2/usage?project_id=${projectOf('other project member')}`,
    allowed: ['admin', 'other project member'],
    after: 'cyborg:usage:get',
  },
];

/**
 * Who sees an ARQ of the `own` project and one of the `other` project, its
 * history and its events: the cloud admin every project's, everyone else
 * their own project's (another's is 404, or absent from lists). `service`
 * and system-scoped tokens pass no read rule, so they see neither.
 */
export const ARQ_VISIBILITY: Record<PersonaName, { own: boolean; other: boolean } | 'denied'> = {
  admin: { own: true, other: true },
  manager: { own: true, other: false },
  member: { own: true, other: false },
  reader: { own: true, other: false },
  service: 'denied',
  'other project member': { own: false, other: true },
  'system admin': 'denied',
  'system reader': 'denied',
};
