import { KeystoneUnavailableError } from './errors';
import type { KeystoneSession } from './keystone-session';

export interface UnifiedLimitsOptions {
  /**
   * The session that reads the limits. It must be system-scoped (a user
   * with `reader` on the system, as oslo.limit asks): Keystone answers a
   * project-scoped token only with that project's own limits, silently.
   */
  session: KeystoneSession;
  /** Whose limits: the catalog service of this type (default `accelerator`). */
  serviceType?: string;
  /** Only limits of this region or of none (default: any). */
  region?: string;
  /** How long a project's limits are reused, in seconds (default 10; 0 asks every time). */
  cacheSeconds?: number;
  /** Per call to Keystone (default 10 s). */
  timeoutMs?: number;
}

interface Limit {
  resource_name: string;
  region_id?: string | null;
  /** A project limit's. */
  resource_limit?: number;
  /** A registered limit's. */
  default_limit?: number;
}

interface Cached {
  until: number;
  limits: Map<string, number>;
}

/**
 * A project's limits from Keystone's unified limits, as oslo.limit reads
 * them: the registered (default) limits of the service, overridden by the
 * project's own. A resource with neither is unlimited (absent from the
 * map); `-1` is unlimited too. Answers are cached briefly; while Keystone
 * is away the last answer is kept.
 */
export class UnifiedLimits {
  readonly stats = { keystoneCalls: 0 };
  private readonly serviceType: string;
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, Promise<Map<string, number>>>();

  constructor(private readonly options: UnifiedLimitsOptions) {
    this.serviceType = options.serviceType ?? 'accelerator';
    this.ttlMs = (options.cacheSeconds ?? 10) * 1000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Resource name (`class:FPGA`) -> limit, for a project. */
  async forProject(projectId: string): Promise<Map<string, number>> {
    const cached = this.cache.get(projectId);
    if (cached && Date.now() < cached.until) return cached.limits;
    let pending = this.inFlight.get(projectId);
    if (!pending) {
      pending = this.read(projectId).finally(() => this.inFlight.delete(projectId));
      this.inFlight.set(projectId, pending);
    }
    try {
      return await pending;
    } catch (error) {
      if (cached) return cached.limits;
      throw error;
    }
  }

  /** Forget cached answers: the next read asks Keystone. */
  clear(): void {
    this.cache.clear();
  }

  private async read(projectId: string): Promise<Map<string, number>> {
    const limits = new Map<string, number>();
    const serviceIds = await this.serviceIds();
    for (const serviceId of serviceIds) {
      const service = encodeURIComponent(serviceId);
      for (const l of await this.list<Limit>(`/registered_limits?service_id=${service}`, 'registered_limits')) {
        if (this.inRegion(l) && typeof l.default_limit === 'number') limits.set(l.resource_name, l.default_limit);
      }
    }
    // Project limits override the registered defaults.
    for (const serviceId of serviceIds) {
      const query = `project_id=${encodeURIComponent(projectId)}&service_id=${encodeURIComponent(serviceId)}`;
      for (const l of await this.list<Limit>(`/limits?${query}`, 'limits')) {
        if (this.inRegion(l) && typeof l.resource_limit === 'number') limits.set(l.resource_name, l.resource_limit);
      }
    }
    if (this.ttlMs > 0) this.cache.set(projectId, { until: Date.now() + this.ttlMs, limits });
    return limits;
  }

  private async serviceIds(): Promise<string[]> {
    const services = await this.list<{ id: string }>(
      `/services?type=${encodeURIComponent(this.serviceType)}`,
      'services',
    );
    return services.map((s) => s.id);
  }

  private inRegion(limit: Limit): boolean {
    return !this.options.region || !limit.region_id || limit.region_id === this.options.region;
  }

  private async list<T>(path: string, key: string): Promise<T[]> {
    const url = `${this.options.session.authUrl}${path}`;
    this.stats.keystoneCalls += 1;
    let response: Response;
    let body: unknown;
    try {
      response = await this.options.session.request(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      body = await response.json();
    } catch (error) {
      if (error instanceof KeystoneUnavailableError) throw error;
      throw new KeystoneUnavailableError('GET', url, error instanceof Error ? error.message : String(error));
    }
    const list = (body as Record<string, unknown> | null)?.[key];
    if (response.status !== 200 || !Array.isArray(list)) {
      throw new KeystoneUnavailableError('GET', url, `answered ${response.status}`, response.status);
    }
    return list as T[];
  }
}
