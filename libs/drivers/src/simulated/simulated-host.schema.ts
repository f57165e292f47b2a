import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { DEVICE_TYPES, type DeviceType } from '../inventory';
import { parsePciAddress, type PciAddress } from '../pci';
import { checkHealthFault } from './simulated-health';

/** A simulated host file, validated. See the library README for the format. */
export interface SimulatedHostSpec {
  devices: SimulatedDeviceSpec[];
  faults: SimulatedFaults;
}

export interface SimulatedDeviceSpec {
  /** Stable short name, used by faults and warnings. */
  id: string;
  type: DeviceType;
  /** Four lower-case hex digits, no `0x`. */
  vendor: string;
  product: string;
  model: string;
  pci: PciAddress;
  /** PCI class name as lspci shows it; goes into std_board_info. */
  controller: string;
  vendorBoardInfo: string | null;
  /** The deployables' upstream `driver_name`. */
  driverName: string;
  deployables: SimulatedDeployableSpec[];
}

export interface SimulatedDeployableSpec {
  id: string;
  /** Resource provider name after the hostname; by default the deployable's PCI address. */
  name: string | null;
  /** Id of the PF entry this VF entry hangs off. */
  parent: string | null;
  /** Address of the deployable, or of the first VF of a VF entry. */
  pci: PciAddress;
  /** VFs of a VF entry, one deployable each; 1 otherwise. The `vfs` fault overrides it. */
  count: number;
  rc: string;
  traits: string[];
  /** None: a grouping node (a PF whose VFs carry the accelerators). */
  handles: SimulatedHandlesSpec | null;
}

export type SimulatedHandlesSpec =
  { type: 'PCI' | 'TEST_PCI'; physicalNetwork: string | null } | { type: 'MDEV'; mdevType: string; instances: number };

export const PROGRAM_FAULTS = ['ok', 'fail', 'hang'] as const;
export const DISCOVER_FAULTS = ['ok', 'fail'] as const;

export interface SimulatedDeviceFaults {
  /** `false`: the device has vanished from the host. */
  present?: boolean;
  /** VFs per VF entry of the device, instead of their `count`. */
  vfs?: number;
  /** `fail`: programming is refused; `hang`: it never finishes until aborted. */
  program?: (typeof PROGRAM_FAULTS)[number];
  /** `fail`: the device cannot be read, so discovery skips it with a warning. */
  discover?: (typeof DISCOVER_FAULTS)[number];
  /** Health findings the device shows (`xid:79`, `aer_fatal`, `over_temperature`, ...); empty: healthy. */
  health?: string[];
}

export interface SimulatedFaults {
  discoveryDelayMs?: number;
  devices?: Record<string, SimulatedDeviceFaults>;
}

/** A device entry that was left out, and why; the rest of the host still loads. */
export interface SkippedDeviceEntry {
  index: number;
  id: string | null;
  pci: PciAddress | null;
  problems: string[];
}

export type SimulatedHostParseResult =
  { ok: true; spec: SimulatedHostSpec; skipped: SkippedDeviceEntry[] } | { ok: false; errors: string[] };

const TOP_KEYS = ['devices', 'faults'];
const DEVICE_KEYS = [
  'id',
  'type',
  'vendor',
  'product',
  'model',
  'pci',
  'controller',
  'vendorBoardInfo',
  'driverName',
  'deployables',
];
const DEPLOYABLE_KEYS = ['id', 'name', 'parent', 'pci', 'count', 'rc', 'traits', 'handles'];
const HANDLE_KEYS = ['type', 'physicalNetwork', 'mdevType', 'instances'];
const FAULT_KEYS = ['discoveryDelayMs', 'devices'];
const DEVICE_FAULT_KEYS = ['present', 'vfs', 'program', 'discover', 'health'];
const HANDLE_TYPES = ['PCI', 'TEST_PCI', 'MDEV'] as const;

const ID = { pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, hint: 'a short name of letters, digits, _ . -' };
const HEX_ID = { pattern: /^(0x)?[0-9a-f]{4}$/i, hint: 'four hex digits such as "8086"' };
const PLACEMENT_NAME = { pattern: /^[A-Z0-9_]{1,255}$/, hint: 'upper-case letters, digits and _ (e.g. CUSTOM_NIC)' };
const RP_NAME = { pattern: /^[A-Za-z0-9_.:-]{1,150}$/, hint: 'letters, digits and _ . : -' };
const DRIVER_NAME = { pattern: /^[A-Za-z0-9_-]{1,100}$/, hint: 'letters, digits, _ and -' };
const MDEV_TYPE = { pattern: /^[A-Za-z0-9_.-]{1,100}$/, hint: 'an mdev type such as nvidia-223' };

const DEFAULT_CONTROLLER: Record<DeviceType, string> = {
  GPU: '3D controller',
  FPGA: 'Processing accelerators',
  AICHIP: 'Processing accelerators',
  QAT: 'Co-processor',
  NIC: 'Ethernet controller',
  SSD: 'Non-Volatile memory controller',
};

export const DEFAULT_SIMULATED_DRIVER_NAME = 'simulated';
const MAX_VFS = 256;
const MAX_MDEV_INSTANCES = 1024;
const MAX_DISCOVERY_DELAY_MS = 600_000;

type Path = readonly (string | number)[];
interface Issue {
  path: Path;
  message: string;
}
type RawMap = Record<string, unknown>;

/**
 * Parses and validates a simulated host file. Never throws: syntax errors and problems outside
 * device entries fail the whole file; a bad device entry only skips that device. Every message
 * says where: `file:line: devices[2] (fpga0) / deployables[1] (vf) / pci: ...`.
 */
export function parseSimulatedHost(text: string, source = 'simulated host'): SimulatedHostParseResult {
  const lineCounter = new LineCounter();
  // Failsafe schema: every scalar is text, so `vendor: 8086` or `0x10de` is not turned into a number.
  const doc = parseDocument(text, { schema: 'failsafe', lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return `${source}:${pos.line}:${pos.col}: not valid YAML: ${e.message}`;
      }),
    };
  }
  let root: unknown;
  try {
    root = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, errors: [`${source}: not usable YAML: ${(error as Error).message}`] };
  }

  const fileIssues: Issue[] = [];
  const format = (issue: Issue) => formatIssue(issue, root, doc, lineCounter, source);
  if (root === null || root === undefined || root === '') {
    return { ok: false, errors: [`${source}: the file is empty; expected a mapping with a \`devices:\` list`] };
  }
  const top = readMap(root, [], TOP_KEYS, fileIssues);
  if (!top) return { ok: false, errors: fileIssues.map(format) };

  const devices: SimulatedDeviceSpec[] = [];
  const skipped: SkippedDeviceEntry[] = [];
  const rawDevices = readList(top, 'devices', [], fileIssues, true);
  const seenIds = new Map<string, number>();
  const seenPci = new Map<string, number>();
  rawDevices.forEach((raw, index) => {
    const issues: Issue[] = [];
    const device = readDevice(raw, ['devices', index], issues);
    if (device) {
      const idAt = seenIds.get(device.id);
      if (idAt !== undefined) {
        issues.push({ path: ['devices', index, 'id'], message: `id ${device.id} is already used by devices[${idAt}]` });
      }
      const pciKey = JSON.stringify(device.pci);
      const pciAt = seenPci.get(pciKey);
      if (pciAt !== undefined) {
        issues.push({ path: ['devices', index, 'pci'], message: `address is already used by devices[${pciAt}]` });
      }
    }
    if (device && issues.length === 0) {
      devices.push(device);
      seenIds.set(device.id, index);
      seenPci.set(JSON.stringify(device.pci), index);
    } else {
      const rawMap = isMap(raw) ? raw : {};
      skipped.push({
        index,
        id: typeof rawMap['id'] === 'string' ? rawMap['id'] : null,
        pci: typeof rawMap['pci'] === 'string' ? parsePciAddress(rawMap['pci']) : null,
        problems: issues.map(format),
      });
    }
  });

  const faults = readFaults(top['faults'], ['faults'], fileIssues);
  if (fileIssues.length > 0) {
    return { ok: false, errors: [...fileIssues.map(format), ...skipped.flatMap((s) => s.problems)] };
  }
  return { ok: true, spec: { devices, faults }, skipped };
}

function readDevice(raw: unknown, path: Path, issues: Issue[]): SimulatedDeviceSpec | null {
  const m = readMap(raw, path, DEVICE_KEYS, issues);
  if (!m) return null;
  const id = readText(m, 'id', path, issues, { required: true, ...ID });
  const type = readChoice(m, 'type', path, issues, DEVICE_TYPES, true);
  const vendor = readText(m, 'vendor', path, issues, { required: true, ...HEX_ID });
  const product = readText(m, 'product', path, issues, { required: true, ...HEX_ID });
  const model = readText(m, 'model', path, issues, { required: true, max: 255 });
  const pci = readPci(m, 'pci', path, issues, true);
  const controller = readText(m, 'controller', path, issues, { max: 255 });
  const vendorBoardInfo = readText(m, 'vendorBoardInfo', path, issues, { max: 4096 });
  const driverName = readText(m, 'driverName', path, issues, DRIVER_NAME);
  const rawDeployables = readList(m, 'deployables', path, issues, true);
  const given = m['deployables'];
  if (rawDeployables.length === 0 && given !== undefined && (Array.isArray(given) || isEmptyValue(given))) {
    issues.push({ path: [...path, 'deployables'], message: 'a device needs at least one deployable' });
  }
  const deployables = rawDeployables
    .map((d, j) => readDeployable(d, [...path, 'deployables', j], pci, issues))
    .filter((d): d is SimulatedDeployableSpec => d !== null);
  if (deployables.length === rawDeployables.length) checkDeployableTree(deployables, path, issues);

  if (id === undefined || type === undefined || vendor === undefined || product === undefined) return null;
  if (model === undefined || pci === undefined) return null;
  return {
    id,
    type,
    vendor: normalizeHexId(vendor),
    product: normalizeHexId(product),
    model,
    pci,
    controller: controller ?? DEFAULT_CONTROLLER[type],
    vendorBoardInfo: vendorBoardInfo ?? null,
    driverName: driverName ?? DEFAULT_SIMULATED_DRIVER_NAME,
    deployables,
  };
}

function readDeployable(
  raw: unknown,
  path: Path,
  devicePci: PciAddress | undefined,
  issues: Issue[],
): SimulatedDeployableSpec | null {
  const m = readMap(raw, path, DEPLOYABLE_KEYS, issues);
  if (!m) return null;
  const id = readText(m, 'id', path, issues, { required: true, ...ID });
  const name = readText(m, 'name', path, issues, RP_NAME);
  const parent = readText(m, 'parent', path, issues, ID);
  const vfWithoutAddress = parent !== undefined && (m['pci'] === undefined || m['pci'] === '');
  if (vfWithoutAddress) {
    issues.push({
      path: [...path, 'pci'],
      message: 'missing: a VF entry (one with `parent`) needs the address of its first VF',
    });
  }
  const pci = vfWithoutAddress ? undefined : readPci(m, 'pci', path, issues, false);
  const count = readInt(m, 'count', path, issues, 0, MAX_VFS);
  if (count !== undefined && parent === undefined) {
    issues.push({ path: [...path, 'count'], message: 'only a VF entry (one with `parent`) can have a count' });
  }
  if (name !== undefined && parent !== undefined) {
    issues.push({
      path: [...path, 'name'],
      message: 'VF deployables are named after their addresses; remove `name` or `parent`',
    });
  }
  const rc = readText(m, 'rc', path, issues, { required: true, ...PLACEMENT_NAME });
  const traits = readTraits(m, path, issues);
  const handles = readHandles(m['handles'], [...path, 'handles'], issues);
  const address = pci ?? devicePci;
  if (id === undefined || rc === undefined || address === undefined || handles === undefined) return null;
  return { id, name: name ?? null, parent: parent ?? null, pci: address, count: count ?? 1, rc, traits, handles };
}

/** PF → VF, one level: a parent must be a plain entry of the same device, and must be needed. */
function checkDeployableTree(deployables: readonly SimulatedDeployableSpec[], devicePath: Path, issues: Issue[]): void {
  const byId = new Map<string, number>();
  deployables.forEach((d, j) => {
    const at = byId.get(d.id);
    if (at !== undefined) {
      issues.push({
        path: [...devicePath, 'deployables', j, 'id'],
        message: `id ${d.id} is already used by deployables[${at}]`,
      });
    } else byId.set(d.id, j);
  });
  deployables.forEach((d, j) => {
    const path = [...devicePath, 'deployables', j];
    if (d.parent !== null) {
      const parent = deployables.find((p) => p.id === d.parent);
      if (!parent) {
        issues.push({ path: [...path, 'parent'], message: `no deployable with id ${d.parent} on this device` });
      } else if (parent.parent !== null) {
        issues.push({
          path: [...path, 'parent'],
          message: `${d.parent} is itself a VF entry; VFs hang off a PF entry`,
        });
      }
    }
    if (d.handles === null && !deployables.some((c) => c.parent === d.id)) {
      issues.push({
        path,
        message: 'offers no accelerators: give it `handles`, or make it the `parent` of a VF entry',
      });
    }
  });
  // Entries without a name are named after their address, so two of them on one address would clash.
  const plainByAddress = new Map<string, string>();
  for (const [j, d] of deployables.entries()) {
    if (d.parent !== null || d.name !== null) continue;
    const key = JSON.stringify(d.pci);
    const other = plainByAddress.get(key);
    if (other !== undefined) {
      issues.push({
        path: [...devicePath, 'deployables', j],
        message: `has the same address as ${other}; give one of them a \`name\``,
      });
    } else plainByAddress.set(key, d.id);
  }
}

function readHandles(raw: unknown, path: Path, issues: Issue[]): SimulatedHandlesSpec | null | undefined {
  if (raw === undefined || isEmptyValue(raw)) return null;
  const m = readMap(raw, path, HANDLE_KEYS, issues);
  if (!m) return undefined;
  const type = readChoice(m, 'type', path, issues, HANDLE_TYPES, true);
  if (type === undefined) return undefined;
  if (type === 'MDEV') {
    if (m['physicalNetwork'] !== undefined) {
      issues.push({ path: [...path, 'physicalNetwork'], message: 'only PCI handles have a physical network' });
    }
    const mdevType = readText(m, 'mdevType', path, issues, { required: true, ...MDEV_TYPE });
    const instances = readInt(m, 'instances', path, issues, 1, MAX_MDEV_INSTANCES, true);
    if (mdevType === undefined || instances === undefined) return undefined;
    return { type, mdevType, instances };
  }
  for (const key of ['mdevType', 'instances']) {
    if (m[key] !== undefined) issues.push({ path: [...path, key], message: 'only MDEV handles have this field' });
  }
  const physicalNetwork = readText(m, 'physicalNetwork', path, issues, {
    pattern: /^[A-Za-z0-9_.-]{1,64}$/,
    hint: 'a physnet name',
  });
  if (physicalNetwork !== undefined && type !== 'PCI') {
    issues.push({ path: [...path, 'physicalNetwork'], message: 'only PCI handles have a physical network' });
  }
  return { type, physicalNetwork: physicalNetwork ?? null };
}

function readTraits(m: RawMap, path: Path, issues: Issue[]): string[] {
  const traits: string[] = [];
  readList(m, 'traits', path, issues, false).forEach((t, i) => {
    const at = [...path, 'traits', i];
    if (typeof t !== 'string' || !PLACEMENT_NAME.pattern.test(t)) {
      issues.push({ path: at, message: `expected a trait name of ${PLACEMENT_NAME.hint}, got ${show(t)}` });
    } else if (traits.includes(t)) issues.push({ path: at, message: `trait ${t} is listed twice` });
    else traits.push(t);
  });
  return traits;
}

/** Range checks for faults given in code (`setFaults`); the types already fix their shape. */
export function checkFaults(faults: SimulatedFaults): string[] {
  const errors: string[] = [];
  const d = faults.discoveryDelayMs;
  if (d !== undefined && (!Number.isInteger(d) || d < 0 || d > MAX_DISCOVERY_DELAY_MS)) {
    errors.push(`discoveryDelayMs: expected a whole number from 0 to ${MAX_DISCOVERY_DELAY_MS}, got ${d}`);
  }
  for (const [id, f] of Object.entries(faults.devices ?? {})) {
    if (f.vfs !== undefined && (!Number.isInteger(f.vfs) || f.vfs < 0 || f.vfs > MAX_VFS)) {
      errors.push(`devices / ${id} / vfs: expected a whole number from 0 to ${MAX_VFS}, got ${f.vfs}`);
    }
    if (f.program !== undefined && !PROGRAM_FAULTS.includes(f.program)) {
      errors.push(`devices / ${id} / program: expected one of ${PROGRAM_FAULTS.join(', ')}, got ${String(f.program)}`);
    }
    for (const [i, h] of (f.health ?? []).entries()) {
      const problem = typeof h === 'string' ? checkHealthFault(h) : `expected a fault name, got ${String(h)}`;
      if (problem) errors.push(`devices / ${id} / health[${i}]: ${problem}`);
    }
    if (f.discover !== undefined && !DISCOVER_FAULTS.includes(f.discover)) {
      errors.push(
        `devices / ${id} / discover: expected one of ${DISCOVER_FAULTS.join(', ')}, got ${String(f.discover)}`,
      );
    }
  }
  return errors;
}

function readFaults(raw: unknown, path: Path, issues: Issue[]): SimulatedFaults {
  if (raw === undefined || isEmptyValue(raw)) return {};
  const m = readMap(raw, path, FAULT_KEYS, issues);
  if (!m) return {};
  const faults: SimulatedFaults = {};
  const delay = readInt(m, 'discoveryDelayMs', path, issues, 0, MAX_DISCOVERY_DELAY_MS);
  if (delay !== undefined) faults.discoveryDelayMs = delay;
  const rawDevices = m['devices'];
  if (rawDevices === undefined || isEmptyValue(rawDevices)) return faults;
  const devicesPath = [...path, 'devices'];
  if (!isMap(rawDevices)) {
    issues.push({ path: devicesPath, message: `expected device ids mapped to their faults, got ${show(rawDevices)}` });
    return faults;
  }
  const devices: Record<string, SimulatedDeviceFaults> = {};
  for (const [id, rawFault] of Object.entries(rawDevices)) {
    const at = [...devicesPath, id];
    if (isEmptyValue(rawFault)) continue;
    const f = readMap(rawFault, at, DEVICE_FAULT_KEYS, issues);
    if (!f) continue;
    const fault: SimulatedDeviceFaults = {};
    const present = readBool(f, 'present', at, issues);
    if (present !== undefined) fault.present = present;
    const vfs = readInt(f, 'vfs', at, issues, 0, MAX_VFS);
    if (vfs !== undefined) fault.vfs = vfs;
    const program = readChoice(f, 'program', at, issues, PROGRAM_FAULTS, false);
    if (program !== undefined) fault.program = program;
    const discover = readChoice(f, 'discover', at, issues, DISCOVER_FAULTS, false);
    if (discover !== undefined) fault.discover = discover;
    const health = readHealthFaults(f, at, issues);
    if (health !== undefined) fault.health = health;
    devices[id] = fault;
  }
  faults.devices = devices;
  return faults;
}

function readHealthFaults(m: RawMap, path: Path, issues: Issue[]): string[] | undefined {
  if (m['health'] === undefined) return undefined;
  const faults: string[] = [];
  readList(m, 'health', path, issues, false).forEach((raw, i) => {
    const problem = typeof raw === 'string' ? checkHealthFault(raw) : `expected a fault name, got ${show(raw)}`;
    if (problem) issues.push({ path: [...path, 'health', i], message: problem });
    else faults.push(raw as string);
  });
  return faults;
}

// ---- field readers: each records an issue at the field's path and returns undefined on error.

function readMap(raw: unknown, path: Path, allowed: readonly string[], issues: Issue[]): RawMap | null {
  if (!isMap(raw)) {
    issues.push({ path, message: `expected a mapping of ${allowed.join(', ')}; got ${show(raw)}` });
    return null;
  }
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      issues.push({ path: [...path, key], message: `unknown field; expected one of ${allowed.join(', ')}` });
    }
  }
  return raw;
}

function readList(m: RawMap, key: string, path: Path, issues: Issue[], required: boolean): unknown[] {
  const raw = m[key];
  if (raw === undefined || isEmptyValue(raw)) {
    if (required && raw === undefined) issues.push({ path: [...path, key], message: 'missing (required)' });
    return [];
  }
  if (!Array.isArray(raw)) {
    issues.push({ path: [...path, key], message: `expected a list, got ${show(raw)}` });
    return [];
  }
  return raw;
}

interface TextRule {
  required?: boolean;
  pattern?: RegExp;
  hint?: string;
  max?: number;
}

function readText(m: RawMap, key: string, path: Path, issues: Issue[], rule: TextRule): string | undefined {
  const raw = m[key];
  const at = [...path, key];
  if (raw === undefined || raw === '') {
    if (rule.required) issues.push({ path: at, message: raw === undefined ? 'missing (required)' : 'is empty' });
    return undefined;
  }
  if (typeof raw !== 'string') {
    issues.push({ path: at, message: `expected text, got ${show(raw)}` });
    return undefined;
  }
  if (rule.pattern && !rule.pattern.test(raw)) {
    issues.push({ path: at, message: `expected ${rule.hint ?? rule.pattern.source}, got ${show(raw)}` });
    return undefined;
  }
  if (rule.max !== undefined && raw.length > rule.max) {
    issues.push({ path: at, message: `longer than ${rule.max} characters` });
    return undefined;
  }
  return raw;
}

function readPci(m: RawMap, key: string, path: Path, issues: Issue[], required: boolean): PciAddress | undefined {
  const text = readText(m, key, path, issues, { required });
  if (text === undefined) return undefined;
  const pci = parsePciAddress(text);
  if (!pci) {
    issues.push({ path: [...path, key], message: `expected a PCI address like "0000:5e:00.1", got ${show(text)}` });
  }
  return pci ?? undefined;
}

function readInt(
  m: RawMap,
  key: string,
  path: Path,
  issues: Issue[],
  min: number,
  max: number,
  required = false,
): number | undefined {
  const text = readText(m, key, path, issues, { required });
  if (text === undefined) return undefined;
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    issues.push({ path: [...path, key], message: `expected a whole number from ${min} to ${max}, got ${show(text)}` });
    return undefined;
  }
  return n;
}

function readBool(m: RawMap, key: string, path: Path, issues: Issue[]): boolean | undefined {
  const text = readText(m, key, path, issues, {});
  if (text === undefined) return undefined;
  const lower = text.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower === 'true';
  issues.push({ path: [...path, key], message: `expected true or false, got ${show(text)}` });
  return undefined;
}

function readChoice<T extends string>(
  m: RawMap,
  key: string,
  path: Path,
  issues: Issue[],
  choices: readonly T[],
  required: boolean,
): T | undefined {
  const text = readText(m, key, path, issues, { required });
  if (text === undefined) return undefined;
  const choice = choices.find((c) => c === text);
  if (choice === undefined) {
    issues.push({ path: [...path, key], message: `expected one of ${choices.join(', ')}, got ${show(text)}` });
  }
  return choice;
}

// ---- helpers

function isMap(v: unknown): v is RawMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A key with nothing after it (`faults:`) reads as empty text under the failsafe schema. */
function isEmptyValue(v: unknown): boolean {
  return v === '' || v === null;
}

function normalizeHexId(text: string): string {
  return text.toLowerCase().replace(/^0x/, '');
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (isMap(v)) return 'a mapping';
  return String(v);
}

function formatIssue(issue: Issue, root: unknown, doc: Document, lineCounter: LineCounter, source: string): string {
  const line = lineOf(doc, lineCounter, issue.path);
  const where = line === null ? source : `${source}:${line}`;
  return `${where}: ${describePath(root, issue.path)}: ${issue.message}`;
}

/** `devices[2] (fpga0) / deployables[1] (vf) / pci`: index and id, so either finds the entry. */
function describePath(root: unknown, path: Path): string {
  let node: unknown = root;
  const parts: string[] = [];
  for (const seg of path) {
    if (typeof seg === 'number') {
      node = Array.isArray(node) ? node[seg] : undefined;
      const id = isMap(node) && typeof node['id'] === 'string' ? ` (${node['id']})` : '';
      parts.push(`${parts.pop() ?? ''}[${seg}]${id}`);
    } else {
      node = isMap(node) ? node[seg] : undefined;
      parts.push(seg);
    }
  }
  return parts.length === 0 ? '(top level)' : parts.join(' / ');
}

/** The line of the nearest node on the path that exists (a missing field points at its parent). */
function lineOf(doc: Document, lineCounter: LineCounter, path: Path): number | null {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return null;
}
