import { writeFile } from 'node:fs/promises';
import {
  type CommandReply,
  type InventorySnapshot,
  registerHostMessage,
  type RegisterHostResult,
  reportInventoryMessage,
  type ReportInventoryResult,
} from '@cyborg/contracts';
import { type DiscoveredDevice, fakeDevice, inventorySnapshot, SimulatedDriver } from '@cyborg/drivers';
import type { RpcClient } from '@cyborg/messaging';

/** What an agent sends about its host: the full snapshot and its hash. */
export type HostSnapshot = InventorySnapshot;

const AGENT_VERSION = 'bench';

/** A simulated-host file (libs/drivers' YAML) of `gpus` whole GPUs, each passed through as one PCI device. */
export async function writeGpuServerFile(path: string, gpus: number): Promise<void> {
  const devices = Array.from({ length: gpus }, (_, i) => {
    const bus = (0x18 + i * 0x10).toString(16).padStart(2, '0');
    return [
      `  - id: gpu${i}`,
      '    type: GPU',
      '    vendor: "10de"',
      '    product: "20b5"',
      '    model: NVIDIA A100 80GB PCIe',
      `    pci: "0000:${bus}:00.0"`,
      '    driverName: NVIDIA',
      '    deployables:',
      '      - id: gpu',
      '        rc: PGPU',
      '        traits: [OWNER_CYBORG, CUSTOM_NVIDIA_20B5]',
      '        handles: { type: PCI }',
    ].join('\n');
  });
  await writeFile(path, `devices:\n${devices.join('\n')}\n`);
}

/** The snapshot the simulated driver gives for `hostname` from `file`, as an agent would report it. */
export async function simulatedSnapshot(hostname: string, file: string): Promise<HostSnapshot> {
  const { devices, warnings } = await new SimulatedDriver({ hostname, file }).discover();
  if (warnings.length > 0) throw new Error(`simulated host ${file}: ${warnings.map((w) => w.message).join('; ')}`);
  return snapshotOf(hostname, devices);
}

/** A host with the fake driver's one FPGA (16 handles), or with nothing. */
export function fakeSnapshot(hostname: string, withDevice = true): HostSnapshot {
  return snapshotOf(hostname, withDevice ? [fakeDevice(hostname)] : []);
}

function snapshotOf(hostname: string, devices: DiscoveredDevice[]): HostSnapshot {
  return inventorySnapshot({ hostname, devices });
}

/**
 * One host's agent as the conductor sees it: register_host and
 * report_inventory on the host's own subjects, with a rising generation.
 */
export class SimulatedAgent {
  private generation = Date.now() * 1000;

  constructor(
    private readonly rpc: RpcClient,
    readonly hostname: string,
  ) {}

  register(drivers: string[]): Promise<RegisterHostResult> {
    const { subject, command } = registerHostMessage(this.hostname, drivers, AGENT_VERSION);
    return this.rpc.request<RegisterHostResult>(subject, command, { timeoutMs: 30_000 });
  }

  async report(snapshot: HostSnapshot): Promise<ReportInventoryResult> {
    const { subject, command } = reportInventoryMessage(snapshot, this.generation++);
    const reply = await this.rpc.request<CommandReply<ReportInventoryResult>>(subject, command, { timeoutMs: 30_000 });
    return reply.result;
  }
}
