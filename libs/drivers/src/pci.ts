/** A PCI function address, each part as lower-case hex text the way sysfs and upstream write it. */
export interface PciAddress {
  domain: string;
  bus: string;
  device: string;
  function: string;
}

// Upstream's `parse_address`: 4-2-2 hex digits and a function 0-7.
const PCI_ADDRESS = /^([0-9a-f]{4}):([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/i;
const FUNCTIONS_PER_DEVICE = 8;
const DEVICES_PER_BUS = 32;

/** Parses `0000:5e:00.1`; null when it is not a PCI address. */
export function parsePciAddress(text: string): PciAddress | null {
  const m = PCI_ADDRESS.exec(text);
  if (!m) return null;
  const [, domain, bus, device, fn] = m;
  return { domain: domain.toLowerCase(), bus: bus.toLowerCase(), device: device.toLowerCase(), function: fn };
}

export function formatPciAddress(a: PciAddress): string {
  return `${a.domain}:${a.bus}:${a.device}.${a.function}`;
}

/**
 * The address `n` functions after `a` on the same bus (function first, then device), as SR-IOV
 * lays out VFs; null when that runs past the bus's last device.
 */
export function offsetPciAddress(a: PciAddress, n: number): PciAddress | null {
  const index = parseInt(a.device, 16) * FUNCTIONS_PER_DEVICE + parseInt(a.function, 10) + n;
  if (!Number.isInteger(index) || index < 0 || index >= DEVICES_PER_BUS * FUNCTIONS_PER_DEVICE) return null;
  return {
    domain: a.domain,
    bus: a.bus,
    device: Math.floor(index / FUNCTIONS_PER_DEVICE)
      .toString(16)
      .padStart(2, '0'),
    function: String(index % FUNCTIONS_PER_DEVICE),
  };
}

/**
 * Python's `json.dumps` of a flat dict of strings, keys in the order given: `", "` and `": "`
 * separators and ASCII-only output. Upstream stores these strings verbatim and diffs attach
 * handles by them, so ours must be byte-identical.
 */
export function pythonJsonDumps(entries: Readonly<Record<string, string | null>>): string {
  const pairs = Object.entries(entries).map(
    ([k, v]) => `${pythonJsonString(k)}: ${v === null ? 'null' : pythonJsonString(v)}`,
  );
  return `{${pairs.join(', ')}}`;
}

function pythonJsonString(s: string): string {
  // ensure_ascii: everything outside printable ASCII becomes \uXXXX, per UTF-16 code unit.
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Upstream's `pci_str_to_json`: the `PCI` attach_info (and control-path info) string, keys sorted. */
export function pciAttachInfo(a: PciAddress, physicalNetwork?: string): string {
  const fields: Record<string, string> = { ...pciFields(a) };
  if (physicalNetwork) fields['physical_network'] = physicalNetwork;
  return pythonJsonDumps(sortedRecord(fields));
}

/** Upstream's `mdev_str_to_json`: the `MDEV` attach_info string of one vGPU on the GPU at `a`. */
export function mdevAttachInfo(a: PciAddress, askedType: string, vgpuMark: string): string {
  return pythonJsonDumps(sortedRecord({ ...pciFields(a), asked_type: askedType, vgpu_mark: vgpuMark }));
}

function pciFields(a: PciAddress): Record<string, string> {
  return { domain: a.domain, bus: a.bus, device: a.device, function: a.function };
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
