import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import {
  type CallerDto,
  type CommandReply,
  ConductorCommands,
  hostCommandSubject,
  type RegisterHostResult,
  type ReportedDevice,
  type ReportInventoryResult,
} from '@cyborg/contracts';
import { type DiscoveredDevice, fakeDevice, inventoryHash, SimulatedDriver } from '@cyborg/drivers';
import type { RpcClient } from '@cyborg/messaging';

/** What an agent sends about its host: the full snapshot and its hash. */
export interface HostSnapshot {
  hostname: string;
  inventoryHash: string;
  devices: ReportedDevice[];
}

/** Agents act as a service, as apps/agent's do. */
const AGENT_CALLER: CallerDto = { userId: null, projectId: null, roles: ['service'], service: true, requestId: null };
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
  return {
    hostname,
    inventoryHash: inventoryHash({ hostname, devices }),
    devices: devices.map(reportedDevice),
  };
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
    return this.rpc.request<RegisterHostResult>(
      hostCommandSubject(ConductorCommands.registerHost, this.hostname),
      { commandId: randomUUID(), caller: AGENT_CALLER, hostname: this.hostname, drivers, agentVersion: AGENT_VERSION },
      { timeoutMs: 30_000 },
    );
  }

  async report(snapshot: HostSnapshot): Promise<ReportInventoryResult> {
    const reply = await this.rpc.request<CommandReply<ReportInventoryResult>>(
      hostCommandSubject(ConductorCommands.reportInventory, this.hostname),
      { commandId: randomUUID(), caller: AGENT_CALLER, generation: this.generation++, ...snapshot },
      { timeoutMs: 30_000 },
    );
    return reply.result;
  }
}

/** Only the contract's fields, as apps/agent sends them: the conductor refuses others, and the hash covers these. */
function reportedDevice(device: DiscoveredDevice): ReportedDevice {
  return {
    type: device.type,
    vendor: device.vendor,
    model: device.model,
    std_board_info: device.std_board_info,
    vendor_board_info: device.vendor_board_info,
    controlPathId: { type: device.controlPathId.type, info: { ...device.controlPathId.info } },
    driverName: device.driverName,
    deployables: device.deployables.map((d) => ({
      name: d.name,
      numAccelerators: d.numAccelerators,
      driverName: d.driverName,
      ...(d.parentName === undefined ? {} : { parentName: d.parentName }),
      attributes: d.attributes.map((a) => ({ key: a.key, value: a.value })),
      attachHandles: d.attachHandles.map((h) => ({ type: h.type, info: h.info })),
    })),
  };
}
