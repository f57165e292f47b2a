import type { DiscoveredAttribute } from './inventory';

/** Placement's standard resource classes that accelerator deployables use. */
const STANDARD_RESOURCE_CLASSES = new Set(['PCI_DEVICE', 'SRIOV_NET_VF', 'VGPU', 'PGPU', 'FPGA', 'VGPU_DISPLAY_HEAD']);
/** os-traits namespaces: a name in one of them is taken as a standard trait. */
const STANDARD_TRAIT_PREFIXES = ['HW_', 'COMPUTE_', 'STORAGE_', 'MISC_', 'OWNER_', 'ACCELERATOR_'];
const PLACEMENT_NAME = /^[A-Z0-9_]+$/;

/** Upper case with every run of other characters as `_`: text safe inside a trait or class name. */
export function nameSuffix(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** A resource class as Placement accepts it: standard ones as they are, anything else in `CUSTOM_`. */
export function normalizeResourceClass(name: string): string {
  if (STANDARD_RESOURCE_CLASSES.has(name)) return name;
  if (name.startsWith('CUSTOM_') && PLACEMENT_NAME.test(name)) return name;
  return `CUSTOM_${nameSuffix(name)}`;
}

/** A trait as Placement accepts it: standard-looking and `CUSTOM_` names as they are, anything else in `CUSTOM_`. */
export function normalizeTrait(name: string): string {
  if (
    PLACEMENT_NAME.test(name) &&
    (name.startsWith('CUSTOM_') || STANDARD_TRAIT_PREFIXES.some((p) => name.startsWith(p)))
  ) {
    return name;
  }
  return `CUSTOM_${nameSuffix(name)}`;
}

/** Upstream's attribute list: `rc` first, then `trait0`, `trait1`, ... (each trait once). */
export function deployableAttributes(rc: string, traits: readonly string[]): DiscoveredAttribute[] {
  return [{ key: 'rc', value: rc }, ...[...new Set(traits)].map((value, i) => ({ key: `trait${i}`, value }))];
}
