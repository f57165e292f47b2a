import { DEVICE_TYPES, type DeviceType } from '../inventory';
import type { PciAddress } from '../pci';
import { normalizeResourceClass, normalizeTrait } from '../placement-names';

/**
 * Nova's `[pci] device_spec` (formerly `passthrough_whitelist`): which PCI functions the `pci`
 * driver offers for passthrough. A JSON list of objects (or one object), each matching on
 * `address` (a glob string or an object of per-field regexes), `vendor_id`, `product_id` or
 * `devname`, with tags for what it matches.
 */
export interface PciDeviceSpec {
  /** Position in the list, for messages. */
  index: number;
  /** Four hex digits, or null for any. */
  vendorId: string | null;
  productId: string | null;
  /** Null when the spec names a network interface instead. */
  address: AddressSpec | null;
  devname: string | null;
  /** Goes into the attach handle, as upstream's NIC driver does. */
  physicalNetwork: string | null;
  /** Nova's `resource_class` tag, normalised (`CUSTOM_` unless standard). */
  resourceClass: string | null;
  /** Nova's `traits` tag, normalised. */
  traits: string[];
  /** Our tag: the device type to report, when the PCI class does not say. */
  deviceType: DeviceType | null;
}

type FieldMatcher = { kind: 'any' } | { kind: 'exact'; value: string } | { kind: 'regex'; re: RegExp };

export interface AddressSpec {
  domain: FieldMatcher;
  bus: FieldMatcher;
  slot: FieldMatcher;
  function: FieldMatcher;
  /** Every field a literal address: a PF named this way also matches its VFs, as in Nova. */
  single: boolean;
}

/** One PCI function as the whitelist sees it. */
export interface SpecCandidate {
  address: PciAddress;
  vendor: string;
  product: string;
  /** The function's PF, when it is a VF. */
  parent: PciAddress | null;
}

/** What matching needs to know about the host besides the function itself. */
export interface SpecHost {
  /** SR-IOV capable (`sriov_totalvfs` > 0): a spec naming it matches its VFs too. */
  isPhysicalFunction(address: PciAddress): boolean;
  /** The PCI function that has this network interface, or null. */
  functionOfNetdev(name: string): PciAddress | null;
}

export type DeviceSpecParse = { ok: true; specs: PciDeviceSpec[] } | { ok: false; errors: string[] };

const ANY: FieldMatcher = { kind: 'any' };
const FIELD_WIDTH = { domain: 4, bus: 2, slot: 2, function: 1 } as const;
const FIELD_MAX = { domain: 0xffff, bus: 0xff, slot: 0x1f, function: 0x7 } as const;
type AddressField = keyof typeof FIELD_WIDTH;
const ADDRESS_FIELDS: readonly AddressField[] = ['domain', 'bus', 'slot', 'function'];
/** Tags Nova knows that say nothing to a passthrough driver; accepted so one spec can serve both. */
const IGNORED_NOVA_TAGS = new Set(['trusted', 'remote_managed', 'managed', 'live_migratable', 'one_time_use']);
const KNOWN_KEYS = new Set([
  'address',
  'vendor_id',
  'product_id',
  'devname',
  'physical_network',
  'resource_class',
  'traits',
  'device_type',
  ...IGNORED_NOVA_TAGS,
]);

/** Parses the whitelist text; every problem is listed, each naming its entry. */
export function parsePciDeviceSpecs(text: string): DeviceSpecParse {
  let json: unknown;
  try {
    json = JSON.parse(text.trim() === '' ? '[]' : text);
  } catch (error) {
    return { ok: false, errors: [`not valid JSON: ${(error as Error).message}`] };
  }
  const entries = Array.isArray(json) ? json : [json];
  const specs: PciDeviceSpec[] = [];
  const errors: string[] = [];
  entries.forEach((entry, index) => {
    const parsed = parseSpec(entry, index);
    if (typeof parsed === 'string') errors.push(`[${index}]: ${parsed}`);
    else specs.push(parsed);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, specs };
}

function parseSpec(entry: unknown, index: number): PciDeviceSpec | string {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return `expected an object like {"vendor_id": "10de"}, got ${JSON.stringify(entry)}`;
  }
  const spec = entry as Record<string, unknown>;
  // Nova would take an unknown key as a free-form tag; here a typo ("vendor") would silently match every device.
  const unknown = Object.keys(spec).filter((k) => !KNOWN_KEYS.has(k));
  if (unknown.length > 0) {
    return `unknown key ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${[...KNOWN_KEYS].join(', ')})`;
  }
  if (spec.address !== undefined && spec.devname !== undefined) {
    return 'address and devname cannot be combined (as in Nova)';
  }
  const vendorId = hexId(spec.vendor_id, 'vendor_id');
  if (typeof vendorId === 'object' && vendorId !== null) return vendorId.error;
  const productId = hexId(spec.product_id, 'product_id');
  if (typeof productId === 'object' && productId !== null) return productId.error;

  let devname: string | null = null;
  let address: AddressSpec | null = null;
  if (spec.devname !== undefined) {
    if (typeof spec.devname !== 'string' || spec.devname.trim() === '') return 'devname must be an interface name';
    devname = spec.devname.trim();
  } else {
    const parsed = parseAddress(spec.address ?? '*:*:*.*');
    if (typeof parsed === 'string') return `address: ${parsed}`;
    address = parsed;
  }

  const physicalNetwork = optionalString(spec.physical_network, 'physical_network');
  if (typeof physicalNetwork === 'object' && physicalNetwork !== null) return physicalNetwork.error;
  const resourceClass = optionalString(spec.resource_class, 'resource_class');
  if (typeof resourceClass === 'object' && resourceClass !== null) return resourceClass.error;
  const traits = traitList(spec.traits);
  if (typeof traits === 'string') return traits;
  let deviceType: DeviceType | null = null;
  if (spec.device_type !== undefined) {
    if (!DEVICE_TYPES.includes(spec.device_type as DeviceType)) {
      return `device_type must be one of ${DEVICE_TYPES.join(', ')}, got ${JSON.stringify(spec.device_type)}`;
    }
    deviceType = spec.device_type as DeviceType;
  }
  return {
    index,
    vendorId,
    productId,
    address,
    devname,
    physicalNetwork,
    resourceClass: resourceClass === null ? null : normalizeResourceClass(resourceClass),
    traits: traits.map(normalizeTrait),
    deviceType,
  };
}

/** Nova's glob (`"0000:5e:*.*"`, `":5e:00."`, fields left out are `*`) or per-field regexes (`{"bus": "5[ef]"}`). */
function parseAddress(value: unknown): AddressSpec | string {
  if (typeof value === 'string') return parseGlob(value);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return parseRegexAddress(value as Record<string, unknown>);
  }
  return `expected a string like "0000:5e:*.*" or an object of per-field regexes, got ${JSON.stringify(value)}`;
}

function parseGlob(text: string): AddressSpec | string {
  const dot = text.indexOf('.');
  const dbs = dot === -1 ? text : text.slice(0, dot);
  const fn = dot === -1 ? '' : text.slice(dot + 1);
  const parts = dbs === '' ? [] : dbs.split(':');
  if (parts.length > 3) return `${JSON.stringify(text)} has more than domain:bus:slot before the function`;
  const padded = [...Array<string>(3 - parts.length).fill('*'), ...parts];
  const raw: Record<AddressField, string> = {
    domain: padded[0].trim() || '*',
    bus: padded[1].trim() || '*',
    slot: padded[2].trim() || '*',
    function: fn.trim() || '*',
  };
  const fields = {} as Record<AddressField, FieldMatcher>;
  for (const field of ADDRESS_FIELDS) {
    const v = raw[field];
    if (v === '*') {
      fields[field] = ANY;
      continue;
    }
    const n = /^(0x)?[0-9a-f]+$/i.test(v) ? parseInt(v.replace(/^0x/i, ''), 16) : NaN;
    if (Number.isNaN(n))
      return `${field} ${JSON.stringify(v)} in ${JSON.stringify(text)} is neither * nor a hex number`;
    if (n > FIELD_MAX[field]) {
      return `${field} ${JSON.stringify(v)} in ${JSON.stringify(text)} is above ${FIELD_MAX[field].toString(16)}`;
    }
    fields[field] = { kind: 'exact', value: n.toString(16).padStart(FIELD_WIDTH[field], '0') };
  }
  return { ...fields, single: ADDRESS_FIELDS.every((f) => fields[f].kind === 'exact') };
}

function parseRegexAddress(value: Record<string, unknown>): AddressSpec | string {
  const unknown = Object.keys(value).filter((k) => !(ADDRESS_FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) return `unknown field ${unknown.join(', ')} (fields: ${ADDRESS_FIELDS.join(', ')})`;
  const fields = {} as Record<AddressField, FieldMatcher>;
  let single = true;
  for (const field of ADDRESS_FIELDS) {
    const source = value[field] ?? '.*';
    if (typeof source !== 'string') return `${field} must be a regular expression string`;
    try {
      // Python's re.match, as Nova uses: anchored at the start only.
      fields[field] = { kind: 'regex', re: new RegExp(`^(?:${source})`, 'i') };
    } catch (error) {
      return `${field} ${JSON.stringify(source)} is not a regular expression: ${(error as Error).message}`;
    }
    if (!/^[0-9a-f]+$/i.test(source)) single = false;
  }
  return { ...fields, single };
}

function hexId(value: unknown, name: string): string | null | { error: string } {
  if (value === undefined) return null;
  if (typeof value !== 'string') return { error: `${name} must be a string like "10de"` };
  const v = value.trim();
  if (v === '*') return null;
  if (!/^(0x)?[0-9a-f]{1,4}$/i.test(v)) return { error: `${name} ${JSON.stringify(value)} is not a hex id up to ffff` };
  return parseInt(v.replace(/^0x/i, ''), 16).toString(16).padStart(4, '0');
}

function optionalString(value: unknown, name: string): string | null | { error: string } {
  if (value === undefined) return null;
  if (typeof value !== 'string' || value.trim() === '') return { error: `${name} must be a non-empty string` };
  return value.trim();
}

/** Nova takes `"traits": "CUSTOM_A,HW_B"`; a JSON list is accepted too. */
function traitList(value: unknown): string[] | string {
  if (value === undefined) return [];
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : null;
  if (!items || items.some((t) => typeof t !== 'string'))
    return 'traits must be a comma-separated string or a list of names';
  return (items as string[]).map((t) => t.trim()).filter((t) => t !== '');
}

function fieldMatches(m: FieldMatcher, value: string): boolean {
  if (m.kind === 'any') return true;
  if (m.kind === 'exact') return m.value === value;
  return m.re.test(value);
}

export function addressMatches(spec: AddressSpec, a: PciAddress): boolean {
  return (
    fieldMatches(spec.domain, a.domain) &&
    fieldMatches(spec.bus, a.bus) &&
    fieldMatches(spec.slot, a.device) &&
    fieldMatches(spec.function, a.function)
  );
}

const sameAddress = (a: PciAddress, b: PciAddress) =>
  a.domain === b.domain && a.bus === b.bus && a.device === b.device && a.function === b.function;

/** Nova's `PciDeviceSpec.match`: vendor, product and address (or interface) all agree. */
export function specMatches(spec: PciDeviceSpec, candidate: SpecCandidate, host: SpecHost): boolean {
  if (spec.vendorId !== null && spec.vendorId !== candidate.vendor) return false;
  if (spec.productId !== null && spec.productId !== candidate.product) return false;
  if (spec.devname !== null) {
    const named = host.functionOfNetdev(spec.devname);
    if (!named) return false;
    if (sameAddress(named, candidate.address)) return true;
    // The interface of a PF stands for the PF's VFs too.
    return candidate.parent !== null && host.isPhysicalFunction(named) && sameAddress(named, candidate.parent);
  }
  const address = spec.address!;
  if (addressMatches(address, candidate.address)) return true;
  return (
    address.single &&
    candidate.parent !== null &&
    host.isPhysicalFunction(candidate.parent) &&
    addressMatches(address, candidate.parent)
  );
}

/** The first spec that matches, whose tags apply (Nova takes the first too). */
export function firstMatch(
  specs: readonly PciDeviceSpec[],
  candidate: SpecCandidate,
  host: SpecHost,
): PciDeviceSpec | null {
  return specs.find((s) => specMatches(s, candidate, host)) ?? null;
}

/** Whether some spec could match this address whatever the function's ids are (for unreadable functions). */
export function addressMayMatch(specs: readonly PciDeviceSpec[], address: PciAddress): boolean {
  return specs.some((s) => s.address !== null && addressMatches(s.address, address));
}
