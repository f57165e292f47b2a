import { join } from 'node:path';
import { combineHealth, HEALTHY, type DeviceHealth } from './health';
import { readOptionalText, type PciFunction } from './sysfs';

/**
 * A PCI function's health from sysfs, as any device shows it:
 *
 * - AER counters (`aer_dev_fatal`, `aer_dev_nonfatal`, `aer_dev_correctable`, Linux
 *   Documentation/ABI/testing/sysfs-bus-pci-devices-aer-stats: one `<error> <count>` per line,
 *   then `TOTAL_ERR_FATAL` / `TOTAL_ERR_NONFATAL` / `TOTAL_ERR_COR`). A fatal error since boot
 *   makes the device unhealthy, a non-fatal one degraded; correctable errors were corrected by
 *   the link and are only shown as evidence with the others.
 * - The link (`current_link_speed`/`current_link_width` against `max_link_speed`/`max_link_width`,
 *   Documentation/ABI/testing/sysfs-bus-pci): width 0 or speed `Unknown` is a link that is down
 *   (unhealthy); fewer lanes or a lower speed than the device can do is a downtrained link
 *   (degraded). GPUs lower their link speed when idle, so their drivers pass `dynamicLinkSpeed`
 *   and only lanes count for them.
 *
 * VFs have no link of their own and are not read. Files that are not there mean nothing is known.
 */
export async function pciHealth(
  fn: Pick<PciFunction, 'path' | 'bdf' | 'physfn'>,
  options: { dynamicLinkSpeed?: boolean } = {},
): Promise<DeviceHealth> {
  if (fn.physfn) return HEALTHY;
  const read = (name: string) => readOptionalText(join(fn.path, name)).catch(() => null);
  const [fatal, nonfatal, correctable, speed, maxSpeed, width, maxWidth] = await Promise.all(
    [
      'aer_dev_fatal',
      'aer_dev_nonfatal',
      'aer_dev_correctable',
      'current_link_speed',
      'max_link_speed',
      'current_link_width',
      'max_link_width',
    ].map(read),
  );
  const findings: DeviceHealth[] = [];
  const fatalCount = aerTotal(fatal, 'TOTAL_ERR_FATAL');
  const nonfatalCount = aerTotal(nonfatal, 'TOTAL_ERR_NONFATAL');
  const correctableCount = aerTotal(correctable, 'TOTAL_ERR_COR');
  const aerEvidence = {
    function: fn.bdf,
    ...(fatalCount === null ? {} : { aer_dev_fatal: fatalCount }),
    ...(nonfatalCount === null ? {} : { aer_dev_nonfatal: nonfatalCount }),
    ...(correctableCount === null ? {} : { aer_dev_correctable: correctableCount }),
  };
  if (fatalCount !== null && fatalCount > 0) {
    findings.push({
      status: 'unhealthy',
      reasons: [
        {
          code: 'aer_fatal',
          message: `${fatalCount} fatal PCIe error(s) on ${fn.bdf} since boot (${aerNames(fatal)})`,
          evidence: aerEvidence,
        },
      ],
    });
  } else if (nonfatalCount !== null && nonfatalCount > 0) {
    findings.push({
      status: 'degraded',
      reasons: [
        {
          code: 'aer_nonfatal',
          message: `${nonfatalCount} non-fatal PCIe error(s) on ${fn.bdf} since boot (${aerNames(nonfatal)})`,
          evidence: aerEvidence,
        },
      ],
    });
  }
  findings.push(linkHealth(fn.bdf, { speed, maxSpeed, width, maxWidth }, options.dynamicLinkSpeed === true));
  return combineHealth(findings);
}

interface LinkFiles {
  speed: string | null;
  maxSpeed: string | null;
  width: string | null;
  maxWidth: string | null;
}

function linkHealth(bdf: string, link: LinkFiles, dynamicSpeed: boolean): DeviceHealth {
  if (link.width === null && link.speed === null) return HEALTHY;
  const evidence = {
    function: bdf,
    ...(link.speed === null ? {} : { current_link_speed: link.speed }),
    ...(link.maxSpeed === null ? {} : { max_link_speed: link.maxSpeed }),
    ...(link.width === null ? {} : { current_link_width: link.width }),
    ...(link.maxWidth === null ? {} : { max_link_width: link.maxWidth }),
  };
  const width = link.width === null ? null : Number(link.width);
  const speed = gigaTransfers(link.speed);
  if (width === 0 || (link.speed !== null && speed === null)) {
    return {
      status: 'unhealthy',
      reasons: [{ code: 'link_down', message: `the PCIe link of ${bdf} is down`, evidence }],
    };
  }
  const maxWidth = link.maxWidth === null ? null : Number(link.maxWidth);
  const maxSpeed = gigaTransfers(link.maxSpeed);
  const fewerLanes = width !== null && maxWidth !== null && width < maxWidth;
  const slower = !dynamicSpeed && speed !== null && maxSpeed !== null && speed < maxSpeed;
  if (!fewerLanes && !slower) return HEALTHY;
  const what = [
    ...(fewerLanes ? [`x${width} of x${maxWidth}`] : []),
    ...(slower ? [`${link.speed} of ${link.maxSpeed}`] : []),
  ].join(', ');
  return {
    status: 'degraded',
    reasons: [{ code: 'link_downtrained', message: `the PCIe link of ${bdf} trained down to ${what}`, evidence }],
  };
}

/** `16.0 GT/s PCIe` → 16; `Unknown` (no link) → null. */
function gigaTransfers(text: string | null): number | null {
  const m = text === null ? null : /^(\d+(?:\.\d+)?)\s*GT\/s/.exec(text);
  return m ? Number(m[1]) : null;
}

/** The total of an AER counter file: its `TOTAL_ERR_*` line, or the sum of the lines. Null when unreadable. */
export function aerTotal(text: string | null, totalName: string): number | null {
  if (text === null) return null;
  let sum = 0;
  let total: number | null = null;
  let any = false;
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)$/.exec(line.trim());
    if (!m) continue;
    any = true;
    if (m[1] === totalName) total = Number(m[2]);
    else sum += Number(m[2]);
  }
  return total ?? (any ? sum : null);
}

/** The error names with non-zero counts: `DLP 1, SDES 2`. */
function aerNames(text: string | null): string {
  const names = (text ?? '')
    .split('\n')
    .map((line) => /^(\S+)\s+(\d+)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null && !m[1].startsWith('TOTAL_') && Number(m[2]) > 0)
    .map((m) => `${m[1]} ${m[2]}`);
  return names.join(', ') || 'no detail';
}
