import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DiscoveryFailedError } from './driver';
import { parsePciAddress, type PciAddress } from './pci';

/** Where the kernel mounts sysfs; tests point the drivers at a fixture tree instead. */
export const DEFAULT_SYSFS_ROOT = '/sys';

/** One PCI function as `<sysfs>/bus/pci/devices/<address>` shows it. */
export interface PciFunction {
  /** `0000:3b:00.0`, lower case. */
  bdf: string;
  address: PciAddress;
  /** `<sysfs>/bus/pci/devices/<bdf>` (a symlink into `devices/`; reads follow it). */
  path: string;
  /** Vendor, product and class as lower-case hex without `0x`: `10de`, `1eb8`, `030200`. */
  vendor: string;
  product: string;
  classCode: string;
  /** The kernel driver bound now (`vfio-pci`, `nvidia`, ...), null when none. */
  driver: string | null;
  /** The PF of a VF (its `physfn` link), null for anything else. */
  physfn: string | null;
  /** The VFs of a PF (`virtfn0`, `virtfn1`, ...), in VF order. */
  virtfns: string[];
  sriovTotalVfs: number | null;
  sriovNumVfs: number | null;
  /** Network interfaces of the function (`net/*`). */
  netdevs: string[];
}

/** A function listed under `bus/pci/devices` whose files could not be read. */
export interface UnreadablePciFunction {
  bdf: string;
  address: PciAddress;
  /** The vendor when at least that could be read, so a driver can tell whether the function is its kind. */
  vendor: string | null;
  /** The PF when the function's `physfn` link could be read: a broken VF belongs to its PF's device. */
  physfn: string | null;
  problem: string;
}

export interface PciScan {
  functions: PciFunction[];
  unreadable: UnreadablePciFunction[];
}

export function pciDevicesDir(root: string): string {
  return join(root, 'bus', 'pci', 'devices');
}

/**
 * Every PCI function of the host, in address order. A function whose files cannot be read is
 * listed apart, so one broken device never hides the others. Only an unreadable
 * `bus/pci/devices` (no sysfs at all) fails the scan, with `DiscoveryFailedError`.
 */
export async function scanPciFunctions(root: string, driver: string): Promise<PciScan> {
  const dir = pciDevicesDir(root);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw new DiscoveryFailedError(driver, [`cannot list ${dir}: ${errorMessage(error)}`]);
  }
  // Names that are not 4-2-2.1 addresses (VMD's 5-digit domains) cannot be reported upstream's way.
  const addresses = entries
    .map((name) => parsePciAddress(name))
    .filter((a): a is PciAddress => a !== null)
    .map((a) => `${a.domain}:${a.bus}:${a.device}.${a.function}`)
    .sort();
  const read = await Promise.all(addresses.map((bdf) => readPciFunction(root, bdf)));
  const scan: PciScan = { functions: [], unreadable: [] };
  for (const r of read) {
    if ('problem' in r) scan.unreadable.push(r);
    else scan.functions.push(r);
  }
  return scan;
}

/** One function by address; an unreadable one (or one that is not there) comes back with its problem. */
export async function readPciFunction(root: string, bdf: string): Promise<PciFunction | UnreadablePciFunction> {
  const address = parsePciAddress(bdf);
  if (!address) throw new RangeError(`not a PCI address: ${bdf}`);
  const path = join(pciDevicesDir(root), bdf);
  let vendor: string | null = null;
  try {
    vendor = hexAttribute(await readSysfsText(join(path, 'vendor')), 4, 'vendor');
    const product = hexAttribute(await readSysfsText(join(path, 'device')), 4, 'device');
    const classCode = hexAttribute(await readSysfsText(join(path, 'class')), 6, 'class');
    const [driver, physfn, entries, totalVfs, numVfs, netdevs] = await Promise.all([
      readLinkName(join(path, 'driver')),
      readLinkName(join(path, 'physfn')),
      readdir(path),
      readOptionalText(join(path, 'sriov_totalvfs')),
      readOptionalText(join(path, 'sriov_numvfs')),
      readOptionalDir(join(path, 'net')),
    ]);
    const virtfns = await Promise.all(
      entries
        .map((name) => /^virtfn(\d+)$/.exec(name))
        .filter((m): m is RegExpExecArray => m !== null)
        .sort((a, b) => Number(a[1]) - Number(b[1]))
        .map((m) => readLinkName(join(path, m[0]))),
    );
    return {
      bdf,
      address,
      path,
      vendor,
      product,
      classCode,
      driver,
      physfn,
      virtfns: virtfns.filter((v): v is string => v !== null),
      sriovTotalVfs: optionalCount(totalVfs, 'sriov_totalvfs'),
      sriovNumVfs: optionalCount(numVfs, 'sriov_numvfs'),
      netdevs: netdevs.sort(),
    };
  } catch (error) {
    const physfn = await readLinkName(join(path, 'physfn')).catch(() => null);
    return { bdf, address, vendor, physfn, problem: `cannot read PCI function ${bdf}: ${errorMessage(error)}` };
  }
}

/** A sysfs attribute's text, trimmed; any error (the file missing too) throws. */
export async function readSysfsText(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).trim();
}

/** The attribute's text, or null when the file does not exist; other errors throw. */
export async function readOptionalText(path: string): Promise<string | null> {
  try {
    return await readSysfsText(path);
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

/** The entries of a directory, or none when it does not exist; other errors throw. */
export async function readOptionalDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** The last part of a symlink's target (`driver` → `vfio-pci`), or null when there is no link. */
export async function readLinkName(path: string): Promise<string | null> {
  try {
    return basename(await readlink(path));
  } catch (error) {
    if (isMissing(error)) return null;
    throw error;
  }
}

export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export function errorMessage(error: unknown): string {
  // Errors from node's fs may come from another realm (a test's VM), so not `instanceof Error`.
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

function hexAttribute(text: string, digits: number, name: string): string {
  const m = new RegExp(`^0x([0-9a-f]{${digits}})$`, 'i').exec(text);
  if (!m) throw new Error(`${name} is ${JSON.stringify(text)}, not 0x and ${digits} hex digits`);
  return m[1].toLowerCase();
}

function optionalCount(text: string | null, name: string): number | null {
  if (text === null) return null;
  if (!/^\d+$/.test(text)) throw new Error(`${name} is ${JSON.stringify(text)}, not a count`);
  return Number(text);
}
