import { formatPciAddress, parsePciAddress } from '../pci';
import { runTool, toolFailure, ToolUnavailableError } from '../tool';

/** `nvidia-smi --query-gpu=index,pci.bus_id,mig.mode.current --format=csv,noheader`: one line per GPU. */
export const GPU_QUERY_ARGS = ['--query-gpu=index,pci.bus_id,mig.mode.current', '--format=csv,noheader'];
/** `nvidia-smi mig -lgi`: the GPU instances of every MIG-enabled GPU. */
export const GPU_INSTANCES_ARGS = ['mig', '-lgi'];

export interface SmiGpu {
  index: number;
  /** `0000:86:00.0` (nvidia-smi prints `00000000:86:00.0`). */
  bdf: string;
  migEnabled: boolean;
}

/** One MIG GPU instance: `MIG 3g.40gb`, profile 9, instance 2. */
export interface GpuInstance {
  gpuIndex: number;
  /** The profile as nvidia-smi names it: `3g.40gb`, `1g.10gb+me`. */
  profile: string;
  profileId: number;
  instanceId: number;
}

/** Parses the GPU query's CSV; lines it cannot read are skipped. */
export function parseGpuQuery(text: string): SmiGpu[] {
  const gpus: SmiGpu[] = [];
  for (const line of text.split('\n')) {
    const [index, busId, mig] = line.split(',').map((s) => s.trim());
    if (!index || !busId || !/^\d+$/.test(index)) continue;
    // The domain comes as 8 hex digits; sysfs and upstream use 4.
    const m = /^(?:0{4})?([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])$/i.exec(busId);
    const address = m ? parsePciAddress(m[1]) : null;
    if (!address) continue;
    gpus.push({ index: Number(index), bdf: formatPciAddress(address), migEnabled: mig === 'Enabled' });
  }
  return gpus;
}

/** Parses `nvidia-smi mig -lgi`'s table: `|   0  MIG 1g.10gb   19   9   6:1   |` rows. */
export function parseGpuInstances(text: string): GpuInstance[] {
  const instances: GpuInstance[] = [];
  for (const line of text.split('\n')) {
    const m = /^\|\s*(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\s+\d+:\d+\s*\|\s*$/.exec(line);
    if (!m) continue;
    instances.push({ gpuIndex: Number(m[1]), profile: m[2], profileId: Number(m[3]), instanceId: Number(m[4]) });
  }
  return instances;
}

/** GPU instances of each MIG-enabled GPU, by PCI address; GPUs without MIG are absent. */
export type MigState = Map<string, GpuInstance[]>;

/**
 * What `nvidia-smi` says about MIG. A missing `nvidia-smi` means no MIG (no NVIDIA driver stack
 * to partition with); one that fails rejects, so the caller can treat the GPUs as unknown.
 */
export async function readMigState(
  path: string,
  options: { signal?: AbortSignal; timeoutMs: number },
): Promise<MigState> {
  const state: MigState = new Map();
  let query;
  try {
    query = await runTool(path, GPU_QUERY_ARGS, options);
  } catch (error) {
    if (error instanceof ToolUnavailableError && error.code === 'ENOENT') return state;
    throw error;
  }
  const failed = toolFailure(path, query, options.timeoutMs);
  if (failed) throw new Error(failed);
  const enabled = parseGpuQuery(query.stdout).filter((g) => g.migEnabled);
  if (enabled.length === 0) return state;

  const listing = await runTool(path, GPU_INSTANCES_ARGS, options);
  // With MIG on and no instance made yet, nvidia-smi says so and exits non-zero.
  const none = /No GPU instances found/i.test(listing.stdout + listing.stderr);
  const listFailed = none ? null : toolFailure(path, listing, options.timeoutMs);
  if (listFailed) throw new Error(listFailed);
  const instances = none ? [] : parseGpuInstances(listing.stdout);
  for (const gpu of enabled) {
    state.set(
      gpu.bdf,
      instances.filter((i) => i.gpuIndex === gpu.index).sort((a, b) => a.instanceId - b.instanceId),
    );
  }
  return state;
}
