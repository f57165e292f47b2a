import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { combineHealth, HEALTHY, type DeviceHealth, type HealthReason } from './health';
import { readOptionalText } from './sysfs';

/** How deep below a PCI function the card's hwmon and error directories are looked for (DFL: 5 levels). */
const SEARCH_DEPTH = 6;

/**
 * An FPGA card's sensors and error registers, found below its PCI function in sysfs:
 *
 * - hwmon (Linux Documentation/hwmon/sysfs-interface.rst): `temp*_input` in millidegrees
 *   Celsius against the same sensor's `temp*_crit` (at or above: unhealthy) and `temp*_max`
 *   (degraded); `power*_input` in microwatts against `power*_crit` and `power*_max` (or
 *   `power*_cap`). The DFL FME exposes its thermal and power sensors this way
 *   (Documentation/ABI/testing/sysfs-platform-dfl-fme), as do other cards' management drivers.
 * - OPAE/DFL error registers (`errors/` of the FME and the port, same ABI file and OPAE's
 *   intel-fpga driver): a port error (`errors/errors` non-zero) stops the AFU until cleared, so
 *   the card is unhealthy; FME `catfatal_errors` is unhealthy, `nonfatal_errors`,
 *   `fme_errors`, `pcie0_errors` and `pcie1_errors` degraded. Values are hex (`0x0`).
 */
export async function fpgaCardHealth(functionDir: string): Promise<DeviceHealth> {
  const dirs = await findDirs(functionDir, SEARCH_DEPTH);
  const findings: DeviceHealth[] = [];
  for (const dir of dirs) {
    const name = dir.split('/').at(-1) ?? '';
    const where = relative(functionDir, dir);
    if (/^hwmon\d+$/.test(name)) findings.push(await hwmonHealth(dir, where));
    else if (name === 'errors') findings.push(await errorRegisters(dir, where));
  }
  return combineHealth(findings);
}

/** One hwmon device's temperature and power sensors against their own thresholds. */
export async function hwmonHealth(dir: string, where: string): Promise<DeviceHealth> {
  const files = await readdir(dir).catch(() => [] as string[]);
  const label = (await readOptionalText(join(dir, 'name')).catch(() => null)) ?? where;
  const reasons: { status: 'degraded' | 'unhealthy'; reason: HealthReason }[] = [];
  for (const file of files.sort()) {
    const m = /^(temp|power)(\d+)_input$/.exec(file);
    if (!m) continue;
    const [, kind, n] = m;
    const read = async (suffix: string) => {
      const text = await readOptionalText(join(dir, `${kind}${n}_${suffix}`)).catch(() => null);
      return text !== null && /^-?\d+$/.test(text) ? Number(text) : null;
    };
    const input = await read('input');
    if (input === null) continue;
    const crit = await read('crit');
    const max = (await read('max')) ?? (kind === 'power' ? await read('cap') : null);
    const unit = kind === 'temp' ? 'C' : 'W';
    const scale = kind === 'temp' ? 1000 : 1_000_000;
    const show = (v: number) => `${(v / scale).toFixed(1)} ${unit}`;
    const sensor = `${label} ${kind}${n}`;
    const evidence: Record<string, string | number> = { sensor: `${where}/${kind}${n}`, input };
    if (crit !== null) evidence.crit = crit;
    if (max !== null) evidence.max = max;
    const code = kind === 'temp' ? 'temperature' : 'power';
    if (crit !== null && input >= crit) {
      reasons.push({
        status: 'unhealthy',
        reason: { code, message: `${sensor} at ${show(input)}, at or above its critical ${show(crit)}`, evidence },
      });
    } else if (max !== null && input >= max) {
      reasons.push({
        status: 'degraded',
        reason: { code, message: `${sensor} at ${show(input)}, at or above its maximum ${show(max)}`, evidence },
      });
    }
  }
  return combineHealth(reasons.map((r) => ({ status: r.status, reasons: [r.reason] })));
}

const ERROR_FILES: Record<string, 'degraded' | 'unhealthy'> = {
  errors: 'unhealthy',
  catfatal_errors: 'unhealthy',
  nonfatal_errors: 'degraded',
  fme_errors: 'degraded',
  pcie0_errors: 'degraded',
  pcie1_errors: 'degraded',
};

async function errorRegisters(dir: string, where: string): Promise<DeviceHealth> {
  const findings: DeviceHealth[] = [];
  for (const [file, status] of Object.entries(ERROR_FILES)) {
    const text = await readOptionalText(join(dir, file)).catch(() => null);
    if (text === null || !/^0x[0-9a-f]+$/i.test(text) || BigInt(text) === 0n) continue;
    const code = file === 'errors' ? 'port_error' : `fme_${file.replace(/_errors$/, '')}_error`;
    findings.push({
      status,
      reasons: [
        { code, message: `${where}/${file} is ${text}`, evidence: { register: `${where}/${file}`, value: text } },
      ],
    });
  }
  return findings.length === 0 ? HEALTHY : combineHealth(findings);
}

/** Directories named `hwmonN` or `errors` below `root`, not following symlinks (sysfs links go everywhere). */
async function findDirs(root: string, depth: number): Promise<string[]> {
  if (depth === 0) return [];
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const found: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const path = join(root, e.name);
    if (/^hwmon\d+$/.test(e.name) || e.name === 'errors') found.push(path);
    found.push(...(await findDirs(path, depth - 1)));
  }
  return found.sort();
}
