import type { DeviceHealth, HealthReason } from '../health';
import { combineHealth, HEALTHY } from '../health';
import { formatPciAddress, parsePciAddress } from '../pci';
import { runTool, toolFailure, ToolUnavailableError } from '../tool';

/** `nvidia-smi -q -x`: every GPU's state as XML (nvsmi_device_v12.dtd in R535 and later). Read only. */
export const NVIDIA_SMI_QUERY_ARGS = ['-q', '-x'];

/** What nvidia-smi says about each GPU it can reach, by PCI address, and the GPUs it has lost. */
export interface NvidiaSmiHealth {
  gpus: Map<string, DeviceHealth>;
  /** GPUs nvidia-smi named as lost or unreachable ("GPU is lost", "Unknown Error"), with its words. */
  lost: Map<string, string>;
}

/**
 * Runs `nvidia-smi -q -x` and reads the health of each GPU. A missing nvidia-smi (no NVIDIA
 * driver stack) resolves null: nothing known. One that fails without XML rejects, with its
 * reason; one that fails for a GPU it cannot reach still gives the others.
 */
export async function readNvidiaSmiHealth(
  path: string,
  options: { signal?: AbortSignal; timeoutMs: number },
): Promise<NvidiaSmiHealth | null> {
  let result;
  try {
    result = await runTool(path, NVIDIA_SMI_QUERY_ARGS, options);
  } catch (error) {
    if (error instanceof ToolUnavailableError && error.code === 'ENOENT') return null;
    throw error;
  }
  if (result.timedOut || result.killedBy)
    throw new Error(toolFailure(path, result, options.timeoutMs) ?? `${path} was killed`);
  const text = result.stdout;
  const lost = parseLostGpus(`${result.stdout}\n${result.stderr}`);
  if (!/<nvidia_smi_log>/.test(text)) {
    if (lost.size > 0) return { gpus: new Map(), lost };
    const said = (result.stderr || result.stdout).trim().slice(-500);
    throw new Error(`${path} -q -x printed no report (exit ${String(result.exitCode)}): ${said}`);
  }
  return { gpus: parseNvidiaSmiXml(text), lost };
}

/** `Unable to determine the device handle for GPU0000:3B:00.0: GPU is lost.` and similar lines. */
export function parseLostGpus(text: string): Map<string, string> {
  const lost = new Map<string, string>();
  const re = /GPU\s*((?:[0-9a-f]{4}){1,2}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\s*:\s*([^\n]*)/gi;
  for (const m of text.matchAll(re)) {
    const bdf = normalizeBusId(m[1]);
    if (bdf && /lost|unknown error|fallen off/i.test(m[2])) lost.set(bdf, m[2].trim());
  }
  return lost;
}

/**
 * The health findings in `nvidia-smi -q -x` output, per GPU (`<gpu id="00000000:3B:00.0">`).
 * Fields as NVIDIA's nvsmi DTD names them:
 *
 * - `ecc_errors/volatile` uncorrectable counts (`dram_uncorrectable`,
 *   `sram_uncorrectable_parity`, `sram_uncorrectable_secded`; before Ampere `double_bit/total`):
 *   uncorrectable errors since the driver loaded, unhealthy. `ecc_errors/aggregate` (the
 *   lifetime count) alone: degraded. `sram_threshold_exceeded` Yes: unhealthy.
 * - `remapped_rows`: `remapped_row_pending` Yes (a row waits for a GPU reset) and
 *   `remapped_row_failure` Yes are unhealthy.
 * - `retired_pages` (before Ampere): `pending_retirement` or `pending_blacklist` Yes is
 *   unhealthy; retired double-bit pages degraded.
 * - `gpu_recovery_action` (R550 and later) other than None: unhealthy.
 */
export function parseNvidiaSmiXml(xml: string): Map<string, DeviceHealth> {
  const gpus = new Map<string, DeviceHealth>();
  for (const m of xml.matchAll(/<gpu id="([^"]+)">([\s\S]*?)<\/gpu>/g)) {
    const bdf = normalizeBusId(m[1]);
    if (bdf) gpus.set(bdf, gpuHealth(m[2]));
  }
  return gpus;
}

function gpuHealth(gpu: string): DeviceHealth {
  const findings: DeviceHealth[] = [];
  const add = (status: 'degraded' | 'unhealthy', reason: HealthReason) => findings.push({ status, reasons: [reason] });

  const ecc = section(gpu, 'ecc_errors');
  const volatile = uncorrectable(section(ecc, 'volatile'));
  const aggregate = uncorrectable(section(ecc, 'aggregate'));
  if (volatile.total > 0) {
    add('unhealthy', {
      code: 'ecc_uncorrectable',
      message: `${volatile.total} uncorrectable ECC error(s) since the driver loaded`,
      evidence: prefixed('volatile', volatile.counts),
    });
  } else if (aggregate.total > 0) {
    add('degraded', {
      code: 'ecc_uncorrectable_aggregate',
      message: `${aggregate.total} uncorrectable ECC error(s) over the GPU's lifetime`,
      evidence: prefixed('aggregate', aggregate.counts),
    });
  }
  if (field(section(ecc, 'aggregate'), 'sram_threshold_exceeded') === 'Yes') {
    add('unhealthy', {
      code: 'ecc_sram_threshold',
      message: 'uncorrectable SRAM errors exceeded the threshold NVIDIA sets for replacement',
      evidence: { sram_threshold_exceeded: 'Yes' },
    });
  }

  const rows = section(gpu, 'remapped_rows');
  const pending = field(rows, 'remapped_row_pending');
  const failure = field(rows, 'remapped_row_failure');
  const rowEvidence = {
    remapped_row_corr: field(rows, 'remapped_row_corr') ?? 'N/A',
    remapped_row_unc: field(rows, 'remapped_row_unc') ?? 'N/A',
    remapped_row_pending: pending ?? 'N/A',
    remapped_row_failure: failure ?? 'N/A',
  };
  if (pending === 'Yes') {
    add('unhealthy', {
      code: 'row_remap_pending',
      message: 'a memory row remap is pending: the GPU needs a reset',
      evidence: rowEvidence,
    });
  }
  if (failure === 'Yes') {
    add('unhealthy', {
      code: 'row_remap_failure',
      message: 'a memory row could not be remapped',
      evidence: rowEvidence,
    });
  }

  const retired = section(gpu, 'retired_pages');
  const pendingRetirement = field(retired, 'pending_retirement') ?? field(retired, 'pending_blacklist');
  const doubleBit = count(field(section(retired, 'double_bit_retirement'), 'retired_count'));
  if (pendingRetirement === 'Yes') {
    add('unhealthy', {
      code: 'retired_pages_pending',
      message: 'memory pages are waiting to be retired: the GPU needs a reset',
      evidence: { pending_retirement: 'Yes', double_bit_retired_count: doubleBit },
    });
  } else if (doubleBit > 0) {
    add('degraded', {
      code: 'retired_pages',
      message: `${doubleBit} memory page(s) retired after double-bit errors`,
      evidence: { double_bit_retired_count: doubleBit },
    });
  }

  const recovery = field(gpu, 'gpu_recovery_action');
  if (recovery !== null && recovery !== 'None' && recovery !== 'N/A') {
    add('unhealthy', {
      code: 'recovery_action',
      message: `the driver asks for recovery: ${recovery}`,
      evidence: { gpu_recovery_action: recovery },
    });
  }
  return findings.length === 0 ? HEALTHY : combineHealth(findings);
}

const UNCORRECTABLE = [
  'dram_uncorrectable',
  'sram_uncorrectable_parity',
  'sram_uncorrectable_secded',
  'sram_uncorrectable',
];

function uncorrectable(block: string): { total: number; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  for (const name of UNCORRECTABLE) {
    const n = count(field(block, name));
    if (n > 0) counts[name] = n;
  }
  // Before Ampere: <double_bit><device_memory>..</device_memory>...<total>N</total></double_bit>.
  const dbe = count(field(section(block, 'double_bit'), 'total'));
  if (dbe > 0) counts['double_bit_total'] = dbe;
  return { total: Object.values(counts).reduce((a, b) => a + b, 0), counts };
}

function prefixed(prefix: string, counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [`${prefix}.${k}`, v]));
}

/** The inside of the first `<name>...</name>`, or empty. */
function section(xml: string, name: string): string {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? m[1] : '';
}

/** The text of the first `<name>text</name>` without child elements, trimmed; null when absent. */
function field(xml: string, name: string): string | null {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? m[1].trim() : null;
}

/** A count as nvidia-smi prints it; `N/A` and anything else not a number is 0. */
function count(text: string | null): number {
  return text !== null && /^\d+$/.test(text) ? Number(text) : 0;
}

/** nvidia-smi's `00000000:3B:00.0` (8-digit domain) as sysfs writes it: `0000:3b:00.0`. */
function normalizeBusId(id: string): string | null {
  const m = /^(?:[0-9a-f]{4})?([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])$/i.exec(id.trim());
  const address = m ? parsePciAddress(m[1]) : null;
  return address ? formatPciAddress(address) : null;
}
