/** A catalog endpoint as Keystone v3 lists it. */
export interface CatalogEndpoint {
  id: string;
  interface: 'public' | 'internal' | 'admin';
  region_id: string | null;
  region?: string | null;
  url: string;
}

export interface CatalogEntry {
  id: string;
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

interface NamedInDomain {
  id: string;
  name: string;
  domain?: { id: string; name: string };
}

/** The `token` object of a Keystone v3 token response (the parts read here). */
export interface TokenBody {
  methods: string[];
  user: NamedInDomain;
  audit_ids: string[];
  expires_at: string;
  issued_at: string;
  project?: NamedInDomain;
  domain?: { id: string; name: string };
  system?: { all?: boolean };
  roles?: { id: string; name: string }[];
  catalog?: CatalogEntry[];
  application_credential?: { id: string; name: string; restricted: boolean };
}

/** Who a token speaks for, from Keystone's answer only. */
export interface TokenIdentity {
  userId: string;
  userName: string;
  userDomainId: string | null;
  userDomainName: string | null;
  /** Set for a project-scoped token. */
  projectId: string | null;
  projectName: string | null;
  projectDomainId: string | null;
  projectDomainName: string | null;
  /** Set for a domain-scoped token. */
  domainId: string | null;
  domainName: string | null;
  /** `all` for a system-scoped token. */
  systemScope: 'all' | null;
  /** Role names, implied roles included (Keystone expands them). */
  roles: string[];
  /** True when the token carries one of the validator's service roles (`service_token_roles`). */
  hasServiceRole: boolean;
  /** The authentication methods used, e.g. `password`, `application_credential`. */
  methods: string[];
  applicationCredentialId: string | null;
  auditIds: string[];
  issuedAt: Date;
  expiresAt: Date;
}

/** Reads Keystone's token body into an identity; `serviceRoles` decides `hasServiceRole`. */
export function identityOf(body: TokenBody, serviceRoles: readonly string[] = ['service']): TokenIdentity {
  const roles = (body.roles ?? []).map((r) => r.name);
  return {
    userId: body.user.id,
    userName: body.user.name,
    userDomainId: body.user.domain?.id ?? null,
    userDomainName: body.user.domain?.name ?? null,
    projectId: body.project?.id ?? null,
    projectName: body.project?.name ?? null,
    projectDomainId: body.project?.domain?.id ?? null,
    projectDomainName: body.project?.domain?.name ?? null,
    domainId: body.domain?.id ?? null,
    domainName: body.domain?.name ?? null,
    systemScope: body.system?.all ? 'all' : null,
    roles,
    hasServiceRole: roles.some((r) => serviceRoles.includes(r)),
    methods: body.methods,
    applicationCredentialId: body.application_credential?.id ?? null,
    auditIds: body.audit_ids,
    issuedAt: new Date(body.issued_at),
    expiresAt: new Date(body.expires_at),
  };
}

/** A response body of POST or GET /v3/auth/tokens, checked enough to read it safely. */
export function isTokenResponse(value: unknown): value is { token: TokenBody } {
  if (typeof value !== 'object' || value === null) return false;
  const token = (value as { token?: unknown }).token;
  if (typeof token !== 'object' || token === null) return false;
  const t = token as Partial<TokenBody>;
  return (
    typeof t.expires_at === 'string' &&
    !Number.isNaN(Date.parse(t.expires_at)) &&
    typeof t.user === 'object' &&
    t.user !== null &&
    typeof t.user.id === 'string' &&
    Array.isArray(t.methods)
  );
}
