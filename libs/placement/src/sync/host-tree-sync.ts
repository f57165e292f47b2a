import type { GuardedWrite, PlacementClient } from '../client/placement-client';
import { PlacementError, PlacementErrorCodes } from '../client/placement-error';
import type { Inventories, ResourceProvider } from '../client/placement-types';
import {
  type DesiredHostTree,
  type DesiredProvider,
  drainedInventories,
  isDeployableProvider,
  providerInventories,
} from './desired-tree';

/** A child of the compute node as last seen; inventories and traits are known at `generation`, or not at all. */
export interface KnownProvider {
  uuid: string;
  name: string;
  parent: string | null;
  generation: number;
  inventories?: Inventories;
  traits?: string[];
  /** Consumers seen holding it while it drains. */
  consumers?: string[];
}

/**
 * What this process believes Placement holds for one host. It saves reads,
 * never correctness: every write names the generation it was computed
 * from, so a stale belief ends in a conflict and a re-read.
 */
export interface HostPlacementCache {
  computeNode: string | null;
  /** Direct children of the compute node; null: list the tree before trusting it. */
  children: Map<string, KnownProvider> | null;
}

export const emptyHostCache = (): HostPlacementCache => ({ computeNode: null, children: null });

export type HostSyncState = 'synced' | 'waiting_for_compute_node' | 'draining' | 'error';

export interface SyncProblem {
  provider: string | null;
  message: string;
  requestId: string | null;
}

export interface DrainingProvider {
  uuid: string;
  name: string;
  consumers: string[];
}

export interface HostSyncOutcome {
  state: HostSyncState;
  computeNodeUuid: string | null;
  /** Desired providers now equal in Placement. */
  providers: number;
  draining: DrainingProvider[];
  errors: SyncProblem[];
}

export function problemOf(provider: string | null, error: unknown): SyncProblem {
  return {
    provider,
    message: error instanceof Error ? error.message : String(error),
    requestId: error instanceof PlacementError ? error.requestId : null,
  };
}

export interface HostTreeSyncOptions {
  /** List the compute node's tree even when the cache has it: the periodic reconcile. */
  full: boolean;
}

/**
 * Brings one host's providers in Placement to `desired`: finds the compute
 * node by the hostname, creates, fixes and deletes child providers, and
 * drains (reserved = total) a provider that should go but still has
 * allocations. One provider's failure never stops the others.
 */
export async function syncHostTree(
  client: PlacementClient,
  hostname: string,
  desired: DesiredHostTree,
  cache: HostPlacementCache,
  options: HostTreeSyncOptions,
): Promise<HostSyncOutcome> {
  const outcome: HostSyncOutcome = { state: 'synced', computeNodeUuid: null, providers: 0, draining: [], errors: [] };
  const children = await knownChildren(client, hostname, cache, options.full);
  if (!children || !cache.computeNode) {
    // Without a compute node there are no children either: a host with nothing to show is in sync.
    return { ...outcome, state: desired.providers.length === 0 ? 'synced' : 'waiting_for_compute_node' };
  }
  const computeNode = cache.computeNode;
  outcome.computeNodeUuid = computeNode;

  for (const provider of desired.providers) {
    try {
      await syncProvider(client, provider, computeNode, children);
      outcome.providers++;
    } catch (error) {
      if (error instanceof PlacementError && error.isNotFound) children.delete(provider.uuid);
      if (error instanceof PlacementError && error.status === 400) client.forgetKnownNames();
      outcome.errors.push(problemOf(provider.name, error));
    }
  }

  const wanted = new Set(desired.providers.map((p) => p.uuid));
  for (const known of [...children.values()]) {
    if (wanted.has(known.uuid) || !isDeployableProvider(known)) continue;
    try {
      const draining = await removeProvider(client, known);
      if (draining) outcome.draining.push(draining);
      else children.delete(known.uuid);
    } catch (error) {
      if (error instanceof PlacementError && error.isNotFound) children.delete(known.uuid);
      else outcome.errors.push(problemOf(known.name, error));
    }
  }

  outcome.state = outcome.errors.length > 0 ? 'error' : outcome.draining.length > 0 ? 'draining' : 'synced';
  return outcome;
}

/** The compute node's children, listing the tree when needed; null while the compute node does not exist. */
async function knownChildren(
  client: PlacementClient,
  hostname: string,
  cache: HostPlacementCache,
  full: boolean,
): Promise<Map<string, KnownProvider> | null> {
  if (cache.computeNode && cache.children && !full) return cache.children;
  for (let lookups = 0; lookups < 2; lookups++) {
    if (!cache.computeNode) {
      const node = await client.findProviderByName(hostname);
      if (!node) {
        cache.children = null;
        return null;
      }
      cache.computeNode = node.uuid;
      cache.children = null;
    }
    const tree = await client.listTree(cache.computeNode);
    if (tree.some((p) => p.uuid === cache.computeNode)) {
      cache.children = refreshChildren(cache.children, tree, cache.computeNode);
      return cache.children;
    }
    // The compute node went (Nova recreates it under a new uuid): look it up by name again.
    cache.computeNode = null;
    cache.children = null;
  }
  return null;
}

/** Keeps what is known of a child whose generation has not moved; anything else is read again when needed. */
function refreshChildren(
  previous: Map<string, KnownProvider> | null,
  tree: ResourceProvider[],
  computeNode: string,
): Map<string, KnownProvider> {
  const next = new Map<string, KnownProvider>();
  for (const p of tree) {
    if (p.parent_provider_uuid !== computeNode) continue;
    const known = previous?.get(p.uuid);
    if (known && known.generation === p.generation && known.parent === computeNode) next.set(p.uuid, known);
    else next.set(p.uuid, { uuid: p.uuid, name: p.name, parent: p.parent_provider_uuid, generation: p.generation });
  }
  return next;
}

async function syncProvider(
  client: PlacementClient,
  desired: DesiredProvider,
  computeNode: string,
  children: Map<string, KnownProvider>,
): Promise<void> {
  let known = children.get(desired.uuid);
  if (!known) {
    known = await createOrAdopt(client, desired, computeNode);
    children.set(known.uuid, known);
  }
  const k = known;
  await client.ensureResourceClass(desired.resourceClass);
  await client.ensureTraits(desired.traits);

  const wanted = providerInventories(desired);
  // Traits before inventory: a new provider becomes schedulable only once it is complete.
  // A concurrent writer can make one half unknown again; a bounded second round re-checks it.
  for (let round = 0; round < 3; round++) {
    if (k.traits === undefined) {
      const read = await client.getProviderTraits(k.uuid);
      observe(k, read.generation);
      k.traits = read.traits;
    }
    const traits = await client.updateTraits(k.uuid, () => desired.traits, {
      generation: k.generation,
      traits: k.traits,
    });
    advance(k, traits, 'traits');

    if (k.inventories === undefined) {
      const read = await client.getInventories(k.uuid);
      observe(k, read.generation);
      k.inventories = read.inventories;
    }
    const inventories = await client.updateInventories(k.uuid, () => wanted, {
      generation: k.generation,
      inventories: k.inventories,
    });
    advance(k, inventories, 'inventories');
    if (k.traits !== undefined) break;
  }
  k.consumers = undefined;
}

/** POSTs the provider; when Placement already has it (a lost answer, a recreated compute node), takes it over. */
async function createOrAdopt(
  client: PlacementClient,
  desired: DesiredProvider,
  computeNode: string,
): Promise<KnownProvider> {
  try {
    const created = await client.createProvider({
      uuid: desired.uuid,
      name: desired.name,
      parentProviderUuid: computeNode,
    });
    // A new provider has no inventory and no traits.
    return {
      uuid: created.uuid,
      name: created.name,
      parent: computeNode,
      generation: created.generation,
      inventories: {},
      traits: [],
    };
  } catch (error) {
    if (!(error instanceof PlacementError && error.status === 409)) throw error;
    let existing = await client.getProvider(desired.uuid);
    if (!existing) {
      const holder = await client.findProviderByName(desired.name);
      throw new PlacementError(
        error.method,
        error.path,
        error.status,
        error.code,
        `resource provider name ${desired.name} is taken by provider ${holder?.uuid ?? '(unknown)'}, not ${desired.uuid}`,
        error.requestId,
      );
    }
    if (existing.parent_provider_uuid !== computeNode || existing.name !== desired.name) {
      existing = await client.updateProvider(desired.uuid, { name: desired.name, parentProviderUuid: computeNode });
    }
    return { uuid: existing.uuid, name: existing.name, parent: computeNode, generation: existing.generation };
  }
}

/** Deletes a provider that should go; one with allocations is drained instead and reported. */
async function removeProvider(client: PlacementClient, known: KnownProvider): Promise<DrainingProvider | null> {
  try {
    await client.deleteProvider(known.uuid);
    return null;
  } catch (error) {
    if (!(
      error instanceof PlacementError &&
      error.status === 409 &&
      error.code === PlacementErrorCodes.providerInUse
    )) {
      throw error;
    }
  }
  if (known.inventories === undefined) {
    const read = await client.getInventories(known.uuid);
    observe(known, read.generation);
    known.inventories = read.inventories;
  }
  const drained = await client.updateInventories(known.uuid, drainedInventories, {
    generation: known.generation,
    inventories: known.inventories,
  });
  advance(known, drained, 'inventories');
  if (drained.changed || known.consumers === undefined) known.consumers = await client.providerConsumers(known.uuid);
  return { uuid: known.uuid, name: known.name, consumers: known.consumers };
}

/** A read at another generation than the one known: whatever else was known is stale. */
function observe(known: KnownProvider, generation: number): void {
  if (generation === known.generation) return;
  known.generation = generation;
  known.inventories = undefined;
  known.traits = undefined;
}

/**
 * After a guarded write: the other half stays known only if nobody else
 * wrote in between (exactly our one step of generation, no conflict).
 */
function advance<K extends 'inventories' | 'traits'>(
  known: KnownProvider,
  write: GuardedWrite<NonNullable<KnownProvider[K]>>,
  field: K,
): void {
  const ours = write.conflicts === 0 && write.generation === known.generation + (write.changed ? 1 : 0);
  if (!ours) {
    known.inventories = undefined;
    known.traits = undefined;
  }
  known.generation = write.generation;
  known[field] = write.value as KnownProvider[K];
}
