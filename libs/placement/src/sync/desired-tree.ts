import { type InventoryState, resourceProviderUuid } from '@cyborg/domain';
import type { Inventories } from '../client/placement-types';

/** Marks every provider this service manages (os-traits standard trait). */
export const OWNER_CYBORG = 'OWNER_CYBORG';

const FUNCTION_TRAIT_PREFIX = 'CUSTOM_FPGA_FUNCTION_ID';

/** One deployable as a child resource provider of its host's compute node. */
export interface DesiredProvider {
  uuid: string;
  name: string;
  resourceClass: string;
  total: number;
  /** `total` while the deployable or its device drains, or the device is disabled or fenced: nothing new is placed on it. */
  reserved: number;
  /** Sorted, OWNER_CYBORG included. */
  traits: string[];
}

export interface DesiredHostTree {
  providers: DesiredProvider[];
  /** Deployables that cannot become providers, and why (e.g. no resource class). */
  problems: string[];
}

/**
 * What Placement should hold for a host: one provider per deployable with
 * accelerators (a PF that only groups VFs has none), named after the
 * deployable, its uuid the deployable's rp_uuid. Resource class and traits
 * come from the deployable's attributes (`rc`, `trait*`), as upstream.
 */
export function desiredHostTree(inventory: InventoryState): DesiredHostTree {
  const attributesOf = new Map<string, { key: string; value: string }[]>();
  for (const a of inventory.attributes.values()) {
    const list = attributesOf.get(a.deployableUuid);
    if (list) list.push(a);
    else attributesOf.set(a.deployableUuid, [a]);
  }
  const providers: DesiredProvider[] = [];
  const problems: string[] = [];
  for (const deployable of inventory.deployables.values()) {
    if (deployable.numAccelerators <= 0) continue;
    const attributes = attributesOf.get(deployable.uuid) ?? [];
    const classes = [...new Set(attributes.filter((a) => a.key === 'rc').map((a) => a.value))];
    if (classes.length !== 1) {
      problems.push(
        `deployable ${deployable.name}: ${classes.length === 0 ? 'no resource class (rc)' : `resource classes ${classes.join(', ')}`}`,
      );
      continue;
    }
    const device = inventory.devices.get(deployable.deviceUuid);
    // Upstream's disable (maintaining) also reserves everything; draining and health fencing are ours.
    const held =
      deployable.draining || device?.draining === true || device?.status === 'maintaining' || device?.fenced === true;
    const total = deployable.numAccelerators;
    const traits = new Set(attributes.filter((a) => a.key.startsWith('trait')).map((a) => a.value));
    // Programming replaces the function the device reported (upstream's `_update_placement`).
    if (deployable.functionTrait) {
      for (const trait of traits) if (trait.startsWith(FUNCTION_TRAIT_PREFIX)) traits.delete(trait);
      traits.add(deployable.functionTrait);
    }
    traits.add(OWNER_CYBORG);
    providers.push({
      uuid: deployable.rpUuid,
      name: deployable.name,
      resourceClass: classes[0],
      total,
      reserved: held ? total : 0,
      traits: [...traits].sort(),
    });
  }
  providers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { providers, problems };
}

/** The provider's whole inventory: one class, every field explicit so a hand edit of any of them is seen. */
export function providerInventories(provider: DesiredProvider): Inventories {
  return {
    [provider.resourceClass]: {
      total: provider.total,
      reserved: provider.reserved,
      min_unit: 1,
      max_unit: provider.total,
      step_size: 1,
      allocation_ratio: 1.0,
    },
  };
}

/** Ours to delete: a provider named like a deployable with upstream's uuid3(DNS, name). */
export function isDeployableProvider(provider: { uuid: string; name: string }): boolean {
  return resourceProviderUuid(provider.name) === provider.uuid;
}

/** Every class held back: what a removed provider that is still in use gets until it is free. */
export function drainedInventories(current: Inventories): Inventories {
  return Object.fromEntries(Object.entries(current).map(([rc, inv]) => [rc, { ...inv, reserved: inv.total }]));
}
