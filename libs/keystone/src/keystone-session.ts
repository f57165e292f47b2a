import { EndpointNotFoundError, KeystoneAuthenticationError, KeystoneUnavailableError } from './errors';
import { callKeystone, errorDetail, v3Url } from './http';
import { identityOf, isTokenResponse, type CatalogEntry, type TokenBody, type TokenIdentity } from './token';

/** How a service (or a person) proves who it is to Keystone v3. */
export type KeystoneCredentials =
  | {
      type: 'password';
      username: string;
      password: string;
      /** Default `Default`. */
      userDomainName?: string;
      /** The project to scope to; without it (and without `system`) the token is unscoped and has no catalog. */
      projectName?: string;
      /** Default `Default`. */
      projectDomainName?: string;
      /** A system-scoped token (`{"system": {"all": true}}`) instead of a project. */
      system?: boolean;
    }
  | {
      /** An application credential carries its own scope (the project it was created in) and roles. */
      type: 'application_credential';
      id: string;
      secret: string;
    };

export interface KeystoneSessionOptions {
  /** Keystone's identity endpoint, e.g. `http://127.0.0.1:5000/v3` (`/v3` is added when missing). */
  authUrl: string;
  credentials: KeystoneCredentials;
  /**
   * Authenticate anew when the token has less than this left (default 60 s).
   * Capped at half the token's lifetime, so a short-lived token is not
   * renewed on every call.
   */
  renewMarginSeconds?: number;
  /** Per call to Keystone (default 10 s). */
  timeoutMs?: number;
}

export interface EndpointFilter {
  /** Default `public`. */
  interface?: 'public' | 'internal' | 'admin';
  /** Any region when unset. */
  region?: string;
}

interface HeldToken {
  id: string;
  body: TokenBody;
  /** When to stop handing it out (ms since epoch). */
  renewAt: number;
}

/**
 * A Keystone v3 session for one set of credentials: keeps a token, renews it
 * before it expires and once after a callee answers 401, and finds
 * endpoints in the token's service catalog. Concurrent callers share one
 * authentication.
 */
export class KeystoneSession {
  /** Successful authentications so far: 1 after the first call, +1 per renewal. */
  authentications = 0;
  readonly authUrl: string;
  private readonly marginMs: number;
  private readonly timeoutMs: number;
  private held: HeldToken | null = null;
  private pending: Promise<HeldToken> | null = null;

  constructor(private readonly options: KeystoneSessionOptions) {
    this.authUrl = v3Url(options.authUrl);
    this.marginMs = (options.renewMarginSeconds ?? 60) * 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** A token valid for at least the renewal margin (or half its lifetime). */
  async token(): Promise<string> {
    return (await this.current()).id;
  }

  /** Who the session's token speaks for. */
  async identity(): Promise<TokenIdentity> {
    return identityOf((await this.current()).body);
  }

  async catalog(): Promise<CatalogEntry[]> {
    return (await this.current()).body.catalog ?? [];
  }

  /** The URL of `serviceType` in the token's catalog (no trailing slash); EndpointNotFoundError if absent. */
  async endpoint(serviceType: string, filter: EndpointFilter = {}): Promise<string> {
    const wanted = filter.interface ?? 'public';
    const region = filter.region ?? null;
    for (const entry of await this.catalog()) {
      if (entry.type !== serviceType) continue;
      const match = entry.endpoints.find(
        (e) => e.interface === wanted && (region === null || e.region_id === region || e.region === region),
      );
      if (match) return match.url.replace(/\/+$/, '');
    }
    throw new EndpointNotFoundError(serviceType, wanted, region);
  }

  /** Forget the token (a callee refused it): the next call authenticates anew. */
  invalidate(token?: string): void {
    if (token === undefined || this.held?.id === token) this.held = null;
  }

  /**
   * `fetch` with the session's token as `X-Auth-Token`. A 401 renews the
   * token and repeats the call once; the body must therefore be repeatable
   * (a string or bytes, not a stream).
   */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const send = async (token: string) => {
      const headers = new Headers(init.headers);
      headers.set('x-auth-token', token);
      return fetch(url, { ...init, headers });
    };
    const first = await this.token();
    const response = await send(first);
    if (response.status !== 401) return response;
    await response.body?.cancel();
    this.invalidate(first);
    return send(await this.token());
  }

  private async current(): Promise<HeldToken> {
    const held = this.held;
    if (held && Date.now() < held.renewAt) return held;
    this.pending ??= this.authenticate().finally(() => {
      this.pending = null;
    });
    try {
      return await this.pending;
    } catch (error) {
      // Keystone down while renewing early: the old token still works until it expires.
      if (error instanceof KeystoneUnavailableError && held && this.held === held && stillValid(held)) return held;
      throw error;
    }
  }

  private async authenticate(): Promise<HeldToken> {
    const url = `${this.authUrl}/auth/tokens`;
    const answer = await callKeystone('POST', url, {}, this.timeoutMs, { auth: authBody(this.options.credentials) });
    if (answer.status !== 201 && answer.status !== 200) {
      throw new KeystoneAuthenticationError(answer.status, errorDetail(answer));
    }
    const id = answer.headers.get('x-subject-token');
    if (!id || !isTokenResponse(answer.body)) {
      throw new KeystoneUnavailableError('POST', url, 'answered without a token');
    }
    const body = answer.body.token;
    const issued = Date.parse(body.issued_at);
    const expires = Date.parse(body.expires_at);
    const lifetime = expires - (Number.isNaN(issued) ? Date.now() : issued);
    const held = { id, body, renewAt: expires - Math.min(this.marginMs, lifetime / 2) };
    this.held = held;
    this.authentications += 1;
    return held;
  }
}

function stillValid(held: HeldToken): boolean {
  return Date.parse(held.body.expires_at) - Date.now() > 5_000;
}

function authBody(credentials: KeystoneCredentials): unknown {
  if (credentials.type === 'application_credential') {
    return {
      identity: {
        methods: ['application_credential'],
        application_credential: { id: credentials.id, secret: credentials.secret },
      },
    };
  }
  const identity = {
    methods: ['password'],
    password: {
      user: {
        name: credentials.username,
        password: credentials.password,
        domain: { name: credentials.userDomainName ?? 'Default' },
      },
    },
  };
  if (credentials.system) return { identity, scope: { system: { all: true } } };
  if (credentials.projectName) {
    return {
      identity,
      scope: {
        project: { name: credentials.projectName, domain: { name: credentials.projectDomainName ?? 'Default' } },
      },
    };
  }
  return { identity };
}
