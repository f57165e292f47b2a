import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Starting may first install keystone with apt-get; set-up is ~10 s, start ~4 s. */
export const KEYSTONE_START_TIMEOUT_MS = 180_000;

const SCRIPT = new URL('../../scripts/start-keystone.sh', import.meta.url).pathname;
/** The bootstrap user's password (scripts/start-keystone.sh's KEYSTONE_ADMIN_PASSWORD). */
const ADMIN_PASSWORD = 'admin';
export const REGION = 'RegionOne';

export type ProjectName = 'admin' | 'demo' | 'other' | 'service';

/**
 * The people and services tests act as.
 * - `admin`: the bootstrap user `admin`, role admin on project `admin`: the cloud admin.
 * - `projectAdmin`, `manager`, `member`, `reader`: that role on project `demo`.
 * - `otherMember`: member of project `other`.
 * - `systemAdmin`: role admin on the system (`all`), no project role.
 * - `nova`, `cyborg`, `placement`: service users, roles `service` and `admin` on
 *   project `service` (`service` lets keystonemiddleware validate tokens;
 *   Placement 8.0 still wants `admin` for its APIs, as devstack grants).
 */
export type PersonaName =
  | 'admin'
  | 'projectAdmin'
  | 'manager'
  | 'member'
  | 'reader'
  | 'otherMember'
  | 'systemAdmin'
  | 'nova'
  | 'cyborg'
  | 'placement';

export interface Persona {
  name: PersonaName;
  username: string;
  password: string;
  /** Always `Default`, for users and projects alike. */
  domainName: 'Default';
  userId: string;
  /** The project a default token is scoped to; null for `systemAdmin`. */
  project: ProjectName | null;
  projectId: string | null;
  system: boolean;
  /** Roles assigned (Keystone adds implied ones to tokens: admin > manager > member > reader). */
  roles: string[];
}

/** Catalog services registered as devstack does, by service type. */
export type CatalogService = 'placement' | 'compute' | 'image' | 'accelerator';

const SERVICE_NAMES: Record<CatalogService, string> = {
  placement: 'placement',
  compute: 'nova',
  image: 'glance',
  accelerator: 'cyborg',
};

/** Where catalog endpoints point until a test moves them with `setEndpoint`. */
const DEFAULT_ENDPOINTS: Record<CatalogService, string> = {
  placement: 'http://127.0.0.1:8778',
  compute: 'http://127.0.0.1:8774/v2.1',
  image: 'http://127.0.0.1:9292',
  accelerator: 'http://127.0.0.1:6666/v2',
};

interface PersonaSpec {
  username: string;
  project: ProjectName | null;
  roles: string[];
  /** Roles on the system besides the project's. */
  systemRoles?: string[];
}

const PERSONAS: Record<PersonaName, PersonaSpec> = {
  admin: { username: 'admin', project: 'admin', roles: ['admin'] },
  projectAdmin: { username: 'demo-admin', project: 'demo', roles: ['admin'] },
  manager: { username: 'demo-manager', project: 'demo', roles: ['manager'] },
  member: { username: 'demo-member', project: 'demo', roles: ['member'] },
  reader: { username: 'demo-reader', project: 'demo', roles: ['reader'] },
  otherMember: { username: 'other-member', project: 'other', roles: ['member'] },
  systemAdmin: { username: 'system-admin', project: null, roles: ['admin'] },
  nova: { username: 'nova', project: 'service', roles: ['service', 'admin'] },
  // Reader on the system too, as oslo.limit asks of a service reading every project's unified limits (quota).
  cyborg: { username: 'cyborg', project: 'service', roles: ['service', 'admin'], systemRoles: ['reader'] },
  placement: { username: 'placement', project: 'service', roles: ['service', 'admin'] },
};

/** Every persona's password: `<username>-password` (the bootstrap `admin` keeps `admin`). */
export function passwordOf(username: string): string {
  return username === 'admin' ? ADMIN_PASSWORD : `${username}-password`;
}

export interface TestKeystoneOptions {
  /** Keystone's `[token] expiration` in seconds (default 3600); short ones let tests see renewal and expiry. */
  tokenExpirationSeconds?: number;
  /** Catalog URLs to register instead of the defaults (placement :8778, compute :8774/v2.1, image :9292, accelerator :6666/v2). */
  endpoints?: Partial<Record<CatalogService, string>>;
}

/** How a token is scoped: the persona's own scope by default. */
export type TokenScope = { project: ProjectName } | 'system' | 'unscoped';

export interface IssuedToken {
  token: string;
  /** Keystone's `token` object: user, project, roles, catalog, expires_at, ... */
  body: {
    expires_at: string;
    issued_at: string;
    audit_ids: string[];
    roles?: { id: string; name: string }[];
    [key: string]: unknown;
  };
}

export interface ApplicationCredential {
  id: string;
  name: string;
  secret: string;
}

/**
 * A real Keystone 22 of its own on a free port, with its own PostgreSQL
 * database, provisioned through Keystone's API with projects, personas and
 * catalog services. `start()` gives one to a test file (stop it in
 * afterAll); `shared()` reuses one across files and runs.
 */
export class TestKeystone {
  readonly personas = {} as Record<PersonaName, Persona>;
  readonly projects = {} as Record<ProjectName, { id: string; name: ProjectName }>;
  private readonly roleIds = new Map<string, string>();
  private adminToken: { token: string; renewAt: number } | null = null;

  private constructor(
    readonly port: number,
    private readonly stateDir: string,
    private readonly databaseUrl: string,
    readonly tokenExpirationSeconds: number,
    private readonly shared: boolean,
  ) {}

  /** A Keystone for this test file; `stop()` removes it and its database. */
  static async start(options: TestKeystoneOptions = {}): Promise<TestKeystone> {
    const stateDir = await mkdtemp(join(tmpdir(), 'cyborg-keystone-'));
    const database = `keystone_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
    const keystone = new TestKeystone(
      await freePort(),
      stateDir,
      `postgresql+psycopg2://postgres@127.0.0.1:5432/${database}`,
      options.tokenExpirationSeconds ?? 3600,
      false,
    );
    try {
      await keystone.startServer();
      await keystone.provision(options.endpoints ?? {});
    } catch (error) {
      await keystone.remove();
      throw error;
    }
    return keystone;
  }

  /**
   * One Keystone per token lifetime for every test file and run on this
   * machine (state in `<tmp>/cyborg-keystone-shared-<expiration>`), started
   * when none answers; `stop()` leaves it running. Endpoints a test moves
   * stay moved, so a test that depends on them sets them itself.
   */
  static async shared(options: TestKeystoneOptions = {}): Promise<TestKeystone> {
    const expiration = options.tokenExpirationSeconds ?? 3600;
    const dir = join(tmpdir(), `cyborg-keystone-shared-${expiration}`);
    await mkdir(dir, { recursive: true });
    return withLock(join(dir, 'lock'), async () => {
      const instanceFile = join(dir, 'instance.json');
      const known = await readFile(instanceFile, 'utf8')
        .then((text) => JSON.parse(text) as { port: number; databaseUrl: string })
        .catch(() => null);
      const port = known?.port ?? (await freePort());
      const databaseUrl = known?.databaseUrl ?? `postgresql+psycopg2://postgres@127.0.0.1:5432/keystone_shared_${port}`;
      const keystone = new TestKeystone(port, join(dir, 'state'), databaseUrl, expiration, true);
      // start is a no-op when this script's server is up on the port.
      await keystone.startServer();
      await writeFile(instanceFile, JSON.stringify({ port, databaseUrl }));
      await keystone.provision(options.endpoints ?? {});
      return keystone;
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Keystone's identity endpoint, for KEYSTONE_AUTH_URL. */
  get authUrl(): string {
    return `${this.url}/v3`;
  }

  /** Stops and removes a per-file Keystone (process, state dir, database); a shared one keeps running. */
  async stop(): Promise<void> {
    if (!this.shared) await this.remove();
  }

  /** Stops the server only, keeping its database and keys: Keystone down. */
  async stopServer(): Promise<void> {
    await this.script('stop');
    this.adminToken = null;
  }

  /** Starts it again after `stopServer` (set-up is kept, so ~4 s). */
  async startServer(): Promise<void> {
    await this.script('start');
  }

  /** A token for a persona, by password, scoped as the persona is unless `scope` says otherwise. */
  async token(persona: PersonaName, scope?: TokenScope): Promise<string> {
    return (await this.issue(persona, scope)).token;
  }

  /** As `token`, with Keystone's token body (expires_at, roles, catalog, ...). */
  async issue(persona: PersonaName, scope?: TokenScope): Promise<IssuedToken> {
    const spec = PERSONAS[persona];
    const wanted: TokenScope = scope ?? (spec.project ? { project: spec.project } : 'system');
    return this.passwordToken(spec.username, wanted);
  }

  /** Revokes a token (DELETE /v3/auth/tokens): Keystone refuses it from now on. */
  async revoke(token: string): Promise<void> {
    const { status } = await this.request('DELETE', '/auth/tokens', undefined, { 'x-subject-token': token });
    if (status !== 204) throw new Error(`revoking a token answered ${status}`);
  }

  /**
   * An application credential of a persona, made with the persona's own
   * project-scoped token (Keystone lets only the owner create one); it
   * carries that project and the persona's roles unless `roles` narrows them.
   */
  async createApplicationCredential(
    persona: PersonaName,
    options: { name?: string; roles?: string[]; expiresAt?: Date } = {},
  ): Promise<ApplicationCredential> {
    const spec = PERSONAS[persona];
    if (!spec.project) throw new Error(`${persona} has no project to make an application credential in`);
    const { token } = await this.issue(persona);
    const name = options.name ?? `${spec.username}-${randomBytes(4).toString('hex')}`;
    const body = {
      application_credential: {
        name,
        ...(options.roles ? { roles: options.roles.map((r) => ({ name: r })) } : {}),
        ...(options.expiresAt ? { expires_at: options.expiresAt.toISOString() } : {}),
      },
    };
    const answer = await this.request(
      'POST',
      `/users/${this.personas[persona].userId}/application_credentials`,
      body,
      {},
      token,
    );
    if (answer.status !== 201) throw new Error(`creating an application credential answered ${answer.status}`);
    const created = (answer.body as { application_credential: ApplicationCredential }).application_credential;
    return { id: created.id, name: created.name, secret: created.secret };
  }

  /** Points a catalog service's public, internal and admin endpoints at `url` (e.g. a test's Placement or API). */
  async setEndpoint(serviceType: CatalogService, url: string): Promise<void> {
    const serviceId = await this.ensureService(serviceType);
    const { body } = await this.expect(200, 'GET', `/endpoints?service_id=${serviceId}`);
    const existing = (body as { endpoints: { id: string; interface: string; region_id: string }[] }).endpoints;
    for (const endpointInterface of ['public', 'internal', 'admin']) {
      const found = existing.find((e) => e.interface === endpointInterface && e.region_id === REGION);
      if (found) {
        await this.expect(200, 'PATCH', `/endpoints/${found.id}`, { endpoint: { url } });
      } else {
        await this.expect(201, 'POST', '/endpoints', {
          endpoint: { service_id: serviceId, interface: endpointInterface, region_id: REGION, url },
        });
      }
    }
  }

  /** Any Identity API call as the cloud admin (path under /v3), e.g. registering limits. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    token?: string,
  ): Promise<{ status: number; headers: Headers; body: unknown }> {
    const response = await fetch(`${this.authUrl}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        'content-type': 'application/json',
        'x-auth-token': token ?? (await this.cloudAdminToken()),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as unknown) : null };
  }

  private async passwordToken(username: string, scope: TokenScope): Promise<IssuedToken> {
    const auth: Record<string, unknown> = {
      identity: {
        methods: ['password'],
        password: { user: { name: username, domain: { name: 'Default' }, password: passwordOf(username) } },
      },
    };
    if (scope === 'system') auth.scope = { system: { all: true } };
    else if (scope !== 'unscoped') auth.scope = { project: { name: scope.project, domain: { name: 'Default' } } };
    const response = await fetch(`${this.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ auth }),
    });
    const text = await response.text();
    const token = response.headers.get('x-subject-token');
    if (response.status !== 201 || !token)
      throw new Error(`token for ${username} answered ${response.status}: ${text}`);
    return { token, body: (JSON.parse(text) as { token: IssuedToken['body'] }).token };
  }

  private async cloudAdminToken(): Promise<string> {
    if (this.adminToken && Date.now() < this.adminToken.renewAt) return this.adminToken.token;
    const { token, body } = await this.passwordToken('admin', { project: 'admin' });
    const issued = Date.parse(body.issued_at);
    this.adminToken = { token, renewAt: issued + ((Date.parse(body.expires_at) - issued) * 2) / 3 };
    return token;
  }

  private async expect(status: number, method: string, path: string, body?: unknown): Promise<{ body: unknown }> {
    const answer = await this.request(method, path, body);
    if (answer.status !== status) {
      throw new Error(`Keystone ${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    return answer;
  }

  /** Get-or-create everything, so a shared Keystone can be provisioned again. */
  private async provision(endpoints: Partial<Record<CatalogService, string>>): Promise<void> {
    const roles = (await this.expect(200, 'GET', '/roles')).body as { roles: { id: string; name: string }[] };
    for (const role of roles.roles) this.roleIds.set(role.name, role.id);
    for (const name of ['admin', 'manager', 'member', 'reader', 'service']) {
      if (!this.roleIds.has(name)) throw new Error(`role ${name} missing: scripts/start-keystone.sh creates it`);
    }
    for (const name of ['admin', 'demo', 'other', 'service'] as const) {
      this.projects[name] = { id: await this.ensureNamed('projects', 'project', name), name };
    }
    for (const [name, spec] of Object.entries(PERSONAS) as [PersonaName, PersonaSpec][]) {
      const userId = await this.ensureNamed('users', 'user', spec.username, {
        password: passwordOf(spec.username),
        ...(spec.project ? { default_project_id: this.projects[spec.project].id } : {}),
      });
      for (const role of spec.roles) {
        const roleId = this.roleIds.get(role)!;
        const target = spec.project ? `/projects/${this.projects[spec.project].id}` : '/system';
        await this.expect(204, 'PUT', `${target}/users/${userId}/roles/${roleId}`);
      }
      if (spec.systemRoles) {
        for (const role of spec.systemRoles) {
          await this.expect(204, 'PUT', `/system/users/${userId}/roles/${this.roleIds.get(role)!}`);
        }
      }
      this.personas[name] = {
        name,
        username: spec.username,
        password: passwordOf(spec.username),
        domainName: 'Default',
        userId,
        project: spec.project,
        projectId: spec.project ? this.projects[spec.project].id : null,
        system: spec.project === null,
        roles: spec.roles,
      };
    }
    for (const service of Object.keys(SERVICE_NAMES) as CatalogService[]) {
      await this.setEndpoint(service, endpoints[service] ?? DEFAULT_ENDPOINTS[service]);
    }
  }

  private async ensureService(serviceType: CatalogService): Promise<string> {
    const { body } = await this.expect(200, 'GET', `/services?type=${serviceType}`);
    const found = (body as { services: { id: string }[] }).services[0];
    if (found) return found.id;
    const created = await this.expect(201, 'POST', '/services', {
      service: { type: serviceType, name: SERVICE_NAMES[serviceType], enabled: true },
    });
    return (created.body as { service: { id: string } }).service.id;
  }

  /** The id of the project or user `name` in domain Default, created (with `extra`) when missing. */
  private async ensureNamed(
    collection: 'projects' | 'users',
    member: 'project' | 'user',
    name: string,
    extra: Record<string, unknown> = {},
  ): Promise<string> {
    const { body } = await this.expect(200, 'GET', `/${collection}?name=${encodeURIComponent(name)}&domain_id=default`);
    const found = (body as Record<string, { id: string }[]>)[collection][0];
    if (found) return found.id;
    const created = await this.expect(201, 'POST', `/${collection}`, {
      [member]: { name, domain_id: 'default', enabled: true, ...extra },
    });
    return (created.body as Record<string, { id: string }>)[member].id;
  }

  private async remove(): Promise<void> {
    await this.script('stop').catch(() => undefined);
    await this.script('drop-database').catch(() => undefined);
    await rm(this.stateDir, { recursive: true, force: true });
  }

  private async script(action: string): Promise<void> {
    await run('bash', [SCRIPT, String(this.port), action], {
      env: {
        ...process.env,
        KEYSTONE_STATE_DIR: this.stateDir,
        KEYSTONE_DATABASE_URL: this.databaseUrl,
        KEYSTONE_TOKEN_EXPIRATION: String(this.tokenExpirationSeconds),
        KEYSTONE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      },
      timeout: KEYSTONE_START_TIMEOUT_MS - 10_000,
    });
  }
}

/** Runs `body` holding a lock directory; one left by a killed run is taken over after two minutes. */
async function withLock<T>(lock: string, body: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const age = await stat(lock)
        .then((s) => Date.now() - s.mtimeMs)
        .catch(() => 0);
      if (age > 120_000) await rm(lock, { recursive: true, force: true });
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await body();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
