import { FixedTokenAuth, type ServiceAuth } from '@cyborg/keystone';
import { PlacementError, PlacementUnreachableError } from './placement-error';
import type {
  Inventories,
  Inventory,
  PlacementCall,
  ProviderAllocations,
  ProviderInventories,
  ProviderTraits,
  ResourceProvider,
} from './placement-types';

/** Pinned on every call: nested providers, `reserved == total` (1.26), re-parenting (1.37), consumer types (1.38). */
export const PLACEMENT_MICROVERSION = '1.39';

export interface PlacementClientOptions {
  /**
   * Where Placement is and which token to send: a service user's Keystone
   * session (catalog endpoint, renewed token). Without it, `url` and `token`.
   */
  auth?: ServiceAuth;
  /** Placement's endpoint, e.g. `http://127.0.0.1:8778`, when there is no `auth`. */
  url?: string;
  /** Sent as `x-auth-token` when there is no `auth`; noauth2's `admin` (the default) carries the admin role. */
  token?: string;
  timeoutMs?: number;
  /** Attempts of one generation-guarded write before a conflict is given up on. */
  maxConflictAttempts?: number;
  /** First wait after a conflict; doubled on each further one, with jitter. */
  conflictBackoffMs?: number;
  /** Sees every call once it is answered (status 0: Placement could not be reached): logs, counters. */
  onCall?: (call: PlacementCall) => void;
  /** Sees each generation conflict that is retried, with the write it hit. */
  onConflictRetried?: (error: PlacementError) => void;
}

export interface NewResourceProvider {
  uuid: string;
  name: string;
  parentProviderUuid: string | null;
}

/** The outcome of a generation-guarded write: what the provider has now. */
export interface GuardedWrite<T> {
  generation: number;
  value: T;
  /** False when the provider already had the wanted value: nothing was written. */
  changed: boolean;
  /** Generation conflicts met and retried on the way. */
  conflicts: number;
}

/** Placement's own name rule for custom resource classes and traits. */
const CUSTOM_NAME = /^CUSTOM_[A-Z0-9_]+$/;

/**
 * A small typed client of the OpenStack Placement API. Every non-success
 * answer is thrown as a PlacementError carrying Placement's request id;
 * writes guarded by a provider generation re-read and retry on
 * `placement.concurrent_update` with bounded, jittered backoff.
 */
export class PlacementClient {
  readonly counters = { requests: 0, writes: 0, conflicts: 0 };
  private readonly auth: ServiceAuth;
  private readonly timeoutMs: number;
  private readonly maxConflictAttempts: number;
  private readonly conflictBackoffMs: number;
  /** Names known to exist in Placement; custom ones are never deleted, so this only grows. */
  private readonly knownTraits = new Set<string>();
  private readonly knownResourceClasses = new Set<string>();
  private resourceClassesListed = false;

  constructor(private readonly options: PlacementClientOptions) {
    if (!options.auth && !options.url) throw new Error('PlacementClient needs auth or url');
    this.auth = options.auth ?? new FixedTokenAuth(options.url!, options.token ?? 'admin');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxConflictAttempts = options.maxConflictAttempts ?? 5;
    this.conflictBackoffMs = options.conflictBackoffMs ?? 20;
  }

  // Resource providers

  async findProviderByName(name: string): Promise<ResourceProvider | null> {
    const { body } = await this.call<{ resource_providers: ResourceProvider[] }>(
      'GET',
      `/resource_providers?name=${encodeURIComponent(name)}`,
    );
    return body.resource_providers[0] ?? null;
  }

  /** The provider, or null when Placement has none with this uuid (404). */
  async getProvider(uuid: string): Promise<ResourceProvider | null> {
    try {
      return (await this.call<ResourceProvider>('GET', `/resource_providers/${uuid}`)).body;
    } catch (error) {
      if (error instanceof PlacementError && error.isNotFound) return null;
      throw error;
    }
  }

  /** Every provider in the tree of `rootUuid`, the root included; empty when there is no such provider. */
  async listTree(rootUuid: string): Promise<ResourceProvider[]> {
    const { body } = await this.call<{ resource_providers: ResourceProvider[] }>(
      'GET',
      `/resource_providers?in_tree=${encodeURIComponent(rootUuid)}`,
    );
    return body.resource_providers;
  }

  async createProvider(provider: NewResourceProvider): Promise<ResourceProvider> {
    const { body } = await this.call<ResourceProvider>('POST', '/resource_providers', {
      uuid: provider.uuid,
      name: provider.name,
      parent_provider_uuid: provider.parentProviderUuid,
    });
    return body;
  }

  /** Renames or re-parents a provider (re-parenting needs 1.37). */
  async updateProvider(
    uuid: string,
    change: { name: string; parentProviderUuid: string | null },
  ): Promise<ResourceProvider> {
    const { body } = await this.call<ResourceProvider>('PUT', `/resource_providers/${uuid}`, {
      name: change.name,
      parent_provider_uuid: change.parentProviderUuid,
    });
    return body;
  }

  /** 409 `placement.resource_provider.inuse` while it has allocations. */
  async deleteProvider(uuid: string): Promise<void> {
    await this.call('DELETE', `/resource_providers/${uuid}`, undefined, [204]);
  }

  // Inventories

  async getInventories(uuid: string): Promise<ProviderInventories> {
    const { body } = await this.call<{ resource_provider_generation: number; inventories: Inventories }>(
      'GET',
      `/resource_providers/${uuid}/inventories`,
    );
    return { generation: body.resource_provider_generation, inventories: body.inventories };
  }

  async putInventories(uuid: string, generation: number, inventories: Inventories): Promise<ProviderInventories> {
    const { body } = await this.call<{ resource_provider_generation: number; inventories: Inventories }>(
      'PUT',
      `/resource_providers/${uuid}/inventories`,
      { resource_provider_generation: generation, inventories },
    );
    return { generation: body.resource_provider_generation, inventories: body.inventories };
  }

  /**
   * Makes the provider's inventories `want(current)`. Starts from `known`
   * when given (no read); on a generation conflict re-reads and tries again.
   */
  async updateInventories(
    uuid: string,
    want: (current: Inventories) => Inventories,
    known?: ProviderInventories,
  ): Promise<GuardedWrite<Inventories>> {
    return this.guardedWrite(
      known ?? null,
      () => this.getInventories(uuid),
      (c) => c.inventories,
      want,
      sameInventories,
      (generation, value) => this.putInventories(uuid, generation, value),
    );
  }

  // Traits

  async getProviderTraits(uuid: string): Promise<ProviderTraits> {
    const { body } = await this.call<{ resource_provider_generation: number; traits: string[] }>(
      'GET',
      `/resource_providers/${uuid}/traits`,
    );
    return { generation: body.resource_provider_generation, traits: body.traits };
  }

  async putProviderTraits(uuid: string, generation: number, traits: string[]): Promise<ProviderTraits> {
    const { body } = await this.call<{ resource_provider_generation: number; traits: string[] }>(
      'PUT',
      `/resource_providers/${uuid}/traits`,
      { resource_provider_generation: generation, traits },
    );
    return { generation: body.resource_provider_generation, traits: body.traits };
  }

  /** Makes the provider's traits `want(current)`, like updateInventories. */
  async updateTraits(
    uuid: string,
    want: (current: string[]) => string[],
    known?: ProviderTraits,
  ): Promise<GuardedWrite<string[]>> {
    return this.guardedWrite(
      known ?? null,
      () => this.getProviderTraits(uuid),
      (c) => c.traits,
      want,
      sameTraits,
      (generation, value) => this.putProviderTraits(uuid, generation, value),
    );
  }

  /**
   * Creates the custom traits among `names` that Placement lacks (one read
   * for all unknown names). Standard traits are never created: an unknown
   * one fails where it is used, with Placement's message.
   */
  async ensureTraits(names: readonly string[]): Promise<void> {
    const unknown = [...new Set(names)].filter((n) => !this.knownTraits.has(n));
    if (unknown.length === 0) return;
    const { body } = await this.call<{ traits: string[] }>('GET', `/traits?name=in:${unknown.join(',')}`);
    for (const name of body.traits) this.knownTraits.add(name);
    for (const name of unknown) {
      if (this.knownTraits.has(name) || !CUSTOM_NAME.test(name)) continue;
      await this.call('PUT', `/traits/${name}`, undefined, [201, 204]);
      this.knownTraits.add(name);
    }
  }

  /** Creates a custom resource class Placement lacks; standard ones already exist. */
  async ensureResourceClass(name: string): Promise<void> {
    if (!name.startsWith('CUSTOM_') || this.knownResourceClasses.has(name)) return;
    if (!this.resourceClassesListed) {
      const { body } = await this.call<{ resource_classes: { name: string }[] }>('GET', '/resource_classes');
      for (const rc of body.resource_classes) this.knownResourceClasses.add(rc.name);
      this.resourceClassesListed = true;
      if (this.knownResourceClasses.has(name)) return;
    }
    await this.call('PUT', `/resource_classes/${name}`, undefined, [201, 204]);
    this.knownResourceClasses.add(name);
  }

  /** Forgets which traits and classes exist: after someone deleted one by hand. */
  forgetKnownNames(): void {
    this.knownTraits.clear();
    this.knownResourceClasses.clear();
    this.resourceClassesListed = false;
  }

  // Allocations

  async getProviderAllocations(uuid: string): Promise<ProviderAllocations> {
    const { body } = await this.call<{
      resource_provider_generation: number;
      allocations: ProviderAllocations['allocations'];
    }>('GET', `/resource_providers/${uuid}/allocations`);
    return { generation: body.resource_provider_generation, allocations: body.allocations };
  }

  /** Consumers holding allocations against the provider. */
  async providerConsumers(uuid: string): Promise<string[]> {
    return Object.keys((await this.getProviderAllocations(uuid)).allocations);
  }

  // Plumbing

  private async guardedWrite<C extends { generation: number }, T>(
    known: C | null,
    read: () => Promise<C>,
    valueOf: (current: C) => T,
    want: (current: T) => T,
    same: (a: T, b: T) => boolean,
    write: (generation: number, value: T) => Promise<C>,
  ): Promise<GuardedWrite<T>> {
    let current = known ?? (await read());
    for (let attempt = 1; ; attempt++) {
      const wanted = want(valueOf(current));
      if (same(wanted, valueOf(current))) {
        return { generation: current.generation, value: valueOf(current), changed: false, conflicts: attempt - 1 };
      }
      try {
        const written = await write(current.generation, wanted);
        return { generation: written.generation, value: valueOf(written), changed: true, conflicts: attempt - 1 };
      } catch (error) {
        if (!(error instanceof PlacementError && error.isConcurrentUpdate) || attempt >= this.maxConflictAttempts) {
          throw error;
        }
        this.counters.conflicts++;
        this.options.onConflictRetried?.(error);
        const wait = this.conflictBackoffMs * 2 ** (attempt - 1) * (0.5 + Math.random());
        await new Promise((resolve) => setTimeout(resolve, wait));
        current = await read();
      }
    }
  }

  private async call<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    ok: readonly number[] = [200],
  ): Promise<{ status: number; body: T }> {
    this.counters.requests++;
    if (method !== 'GET') this.counters.writes++;
    const headers: Record<string, string> = {
      'openstack-api-version': `placement ${PLACEMENT_MICROVERSION}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await this.auth.request(`${await this.auth.baseUrl()}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const durationMs = Math.round(performance.now() - started);
      this.options.onCall?.({ method, path, status: 0, requestId: null, durationMs });
      throw new PlacementUnreachableError(method, path, error instanceof Error ? error.message : String(error));
    }
    const requestId = response.headers.get('x-openstack-request-id');
    this.options.onCall?.({
      method,
      path,
      status: response.status,
      requestId,
      durationMs: Math.round(performance.now() - started),
    });
    if (!ok.includes(response.status)) throw errorOf(method, path, response.status, text, requestId);
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }
}

/** Placement's error body: `{"errors": [{status, title, detail, code, request_id}]}`. */
function errorOf(
  method: string,
  path: string,
  status: number,
  text: string,
  headerRequestId: string | null,
): PlacementError {
  let code: string | null = null;
  let detail = text.trim().slice(0, 500) || `HTTP ${status}`;
  let requestId = headerRequestId;
  try {
    const parsed = JSON.parse(text) as {
      errors?: { code?: string; detail?: string; title?: string; request_id?: string }[];
    };
    const first = parsed.errors?.[0];
    if (first) {
      code = first.code ?? null;
      // Placement prefixes the detail with a generic sentence; the last paragraph says what went wrong.
      detail = (first.detail ?? first.title ?? detail).split('\n\n').pop()!.trim();
      requestId = first.request_id ?? requestId;
    }
  } catch {
    // Not JSON (e.g. a proxy's page): keep the text.
  }
  return new PlacementError(method, path, status, code, detail, requestId);
}

const INVENTORY_FIELDS: (keyof Inventory)[] = [
  'total',
  'reserved',
  'min_unit',
  'max_unit',
  'step_size',
  'allocation_ratio',
];

export function sameInventories(a: Inventories, b: Inventories): boolean {
  const classes = Object.keys(a);
  if (classes.length !== Object.keys(b).length) return false;
  return classes.every((rc) => b[rc] !== undefined && INVENTORY_FIELDS.every((f) => a[rc][f] === b[rc][f]));
}

export function sameTraits(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((t) => set.has(t));
}
