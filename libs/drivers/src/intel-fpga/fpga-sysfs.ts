import { readlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parsePciAddress } from '../pci';
import { readOptionalDir, readSysfsText } from '../sysfs';

/**
 * What the Intel FPGA kernel drivers show of one PCI function, in either of their layouts:
 *
 * - OPAE's intel-fpga driver (what upstream reads): `<fn>/fpga/intel-fpga-dev.N/` with
 *   `intel-fpga-fme.M/pr/interface_id` (the PR region) and `intel-fpga-port.M/afu_id`;
 * - the kernel's DFL driver: `<fn>/fpga_region/regionN/` with `dfl-fme.M/dfl-fme-region.K/
 *   fpga_region/regionJ/compat_id` (the PR region) and `dfl-port.M/afu_id`.
 */
export interface FpgaFunctionView {
  layout: 'intel-fpga' | 'dfl' | null;
  /** PR region (interface) ids, as the files hold them. */
  regionIds: string[];
  /** Ids of the AFUs behind the function's ports. */
  afuIds: string[];
}

const NO_FPGA_DRIVER: FpgaFunctionView = { layout: null, regionIds: [], afuIds: [] };

/** Reads a function's FPGA view; a function without either layout (driver not bound) has layout null. */
export async function readFpgaFunction(fnPath: string): Promise<FpgaFunctionView> {
  const opae = (await readOptionalDir(join(fnPath, 'fpga'))).filter((n) => n.startsWith('intel-fpga-dev.')).sort();
  if (opae.length > 0) {
    const view: FpgaFunctionView = { layout: 'intel-fpga', regionIds: [], afuIds: [] };
    for (const dev of opae) {
      const devPath = join(fnPath, 'fpga', dev);
      for (const entry of (await readOptionalDir(devPath)).sort()) {
        if (entry.startsWith('intel-fpga-fme.')) {
          view.regionIds.push(await readSysfsText(join(devPath, entry, 'pr', 'interface_id')));
        } else if (entry.startsWith('intel-fpga-port.')) {
          view.afuIds.push(await readSysfsText(join(devPath, entry, 'afu_id')));
        }
      }
    }
    return view;
  }

  const regions = (await readOptionalDir(join(fnPath, 'fpga_region'))).filter((n) => n.startsWith('region')).sort();
  if (regions.length === 0) return NO_FPGA_DRIVER;
  const view: FpgaFunctionView = { layout: 'dfl', regionIds: [], afuIds: [] };
  for (const region of regions) {
    const regionPath = join(fnPath, 'fpga_region', region);
    for (const entry of (await readOptionalDir(regionPath)).sort()) {
      if (entry.startsWith('dfl-port.')) {
        view.afuIds.push(await readSysfsText(join(regionPath, entry, 'afu_id')));
      } else if (entry.startsWith('dfl-fme.')) {
        const fme = join(regionPath, entry);
        for (const fmeRegion of (await readOptionalDir(fme)).filter((n) => n.startsWith('dfl-fme-region.')).sort()) {
          const prRegions = join(fme, fmeRegion, 'fpga_region');
          for (const pr of (await readOptionalDir(prRegions)).sort()) {
            view.regionIds.push(await readSysfsText(join(prRegions, pr, 'compat_id')));
          }
        }
      }
    }
  }
  return view;
}

/**
 * PCI addresses behind `<sysfs>/class/fpga/*` and `<sysfs>/class/fpga_region/*`, the FPGA
 * class devices both drivers register (links into `devices/.../<address>/fpga/...`).
 */
export async function fpgaClassFunctions(root: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const cls of ['fpga', 'fpga_region']) {
    const dir = join(root, 'class', cls);
    for (const entry of await readOptionalDir(dir)) {
      // An entry that is not a readable link names no function; the known product ids still find the card.
      const target = await readlink(join(dir, entry)).catch(() => null);
      if (target === null) continue;
      // `.../0000:5e:00.0/fpga/intel-fpga-dev.0`: the function is two levels up (nested DFL regions are not).
      const fn = basename(dirname(dirname(target)));
      if (parsePciAddress(fn)) found.add(fn);
    }
  }
  return found;
}
