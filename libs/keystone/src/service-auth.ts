import { KeystoneSession } from './keystone-session';
import { serviceSessionOptions, type ServiceUserSettings } from './service-user';

/**
 * How a service reaches another OpenStack service (Placement, Nova, Glance):
 * where it is and which token to send. Clients ask for the base URL on each
 * call, so a catalog that moves an endpoint is followed at the next renewal.
 */
export interface ServiceAuth {
  /** For logs: the URL, or the catalog entry it comes from. Never a secret. */
  readonly description: string;
  /** The service's base URL, without a trailing slash. */
  baseUrl(): Promise<string>;
  /**
   * `fetch` with `X-Auth-Token` set. A Keystone session renews its token and
   * sends once more when the answer is 401, so the body must be repeatable.
   * Throws Keystone's errors (unreachable, credentials refused) as they are.
   */
  request(url: string, init?: RequestInit): Promise<Response>;
}

/**
 * A fixed URL and token: noauth test set-ups (Placement's noauth2 `admin`,
 * a token handed in by hand). A real Keystone expires such a token within
 * hours and nothing renews it.
 */
export class FixedTokenAuth implements ServiceAuth {
  readonly description: string;
  private readonly url: string;

  constructor(
    url: string,
    private readonly token?: string,
  ) {
    this.url = url.replace(/\/+$/, '');
    this.description = this.url;
  }

  baseUrl(): Promise<string> {
    return Promise.resolve(this.url);
  }

  request(url: string, init: RequestInit = {}): Promise<Response> {
    if (!this.token) return fetch(url, init);
    const headers = new Headers(init.headers);
    headers.set('x-auth-token', this.token);
    return fetch(url, { ...init, headers });
  }
}

export interface CatalogEndpointOptions {
  /** The catalog's service type: `placement`, `compute`, `image`. */
  serviceType: string;
  /** Default `public`. */
  interface?: 'public' | 'internal' | 'admin';
  /** Any region when unset. */
  region?: string;
  /** An operator's URL instead of the catalog's; the token still comes from the session. */
  url?: string;
}

/** A service user's session: the token renews itself, the endpoint comes from its catalog unless overridden. */
export class KeystoneServiceAuth implements ServiceAuth {
  readonly description: string;
  private readonly override: string | null;

  constructor(
    readonly session: KeystoneSession,
    private readonly options: CatalogEndpointOptions,
  ) {
    this.override = options.url ? options.url.replace(/\/+$/, '') : null;
    this.description =
      this.override ??
      `catalog ${options.serviceType} (${options.interface ?? 'public'}${options.region ? `, ${options.region}` : ''})`;
  }

  baseUrl(): Promise<string> {
    if (this.override) return Promise.resolve(this.override);
    return this.session.endpoint(this.options.serviceType, {
      interface: this.options.interface,
      region: this.options.region,
    });
  }

  request(url: string, init?: RequestInit): Promise<Response> {
    return this.session.request(url, init);
  }
}

/** The settings a service's auth is made from. */
export interface ServiceAuthSettings extends ServiceUserSettings {
  KEYSTONE_INTERFACE: 'public' | 'internal' | 'admin';
  KEYSTONE_REGION_NAME?: string;
}

/**
 * The auth of one peer service from the settings. With KEYSTONE_AUTH_URL:
 * the service user's session (shared when `session` is given) and the
 * catalog endpoint of `serviceType`, or `url` when set. Without it: `url`
 * with the fixed `token`, or null when there is no `url` (the peer is off).
 */
export function serviceAuthFrom(
  settings: ServiceAuthSettings,
  peer: { serviceType: string; url?: string; token?: string; session?: KeystoneSession },
): ServiceAuth | null {
  if (settings.KEYSTONE_AUTH_URL) {
    return new KeystoneServiceAuth(peer.session ?? new KeystoneSession(serviceSessionOptions(settings)), {
      serviceType: peer.serviceType,
      interface: settings.KEYSTONE_INTERFACE,
      region: settings.KEYSTONE_REGION_NAME,
      url: peer.url,
    });
  }
  return peer.url ? new FixedTokenAuth(peer.url, peer.token || undefined) : null;
}
