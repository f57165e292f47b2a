import type { AcceleratorDriver } from './driver';
import { FakeDriver } from './fake/fake.driver';
import { DEFAULT_FPGACONF_PATH, IntelFpgaDriver } from './intel-fpga/intel-fpga.driver';
import { NvidiaGpuDriver } from './nvidia-gpu/nvidia-gpu.driver';
import { PciPassthroughDriver } from './pci-passthrough/pci.driver';
import { SimulatedDriver } from './simulated/simulated.driver';
import { DEFAULT_SYSFS_ROOT } from './sysfs';
import { DEFAULT_LSPCI_PATH, DEFAULT_XRT_SMI_PATH, XilinxFpgaDriver } from './xilinx-fpga/xilinx-fpga.driver';

/** The example host `npm start` simulates, relative to the repository root. */
export const DEFAULT_SIMULATED_HOST_FILE = 'deploy/simulated-host.yaml';
/** Where `nvidia-smi` is looked up (on the PATH); empty turns its health reading off. */
export const DEFAULT_NVIDIA_SMI_PATH = 'nvidia-smi';

export const DRIVER_NAMES = ['fake', 'simulated', 'pci', 'nvidia_gpu', 'intel_fpga', 'xilinx_fpga'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

/** Everything the drivers are configured with; each driver reads only its own part. */
export interface DriverSettings {
  hostname: string;
  simulatedHostFile?: string;
  /** sysfs, read by `pci`, `nvidia_gpu`, `intel_fpga` (and `xilinx_fpga` for drivers bound). Default `/sys`. */
  sysfsRoot?: string;
  /** `pci`: Nova's `[pci] device_spec` JSON. Default: nothing offered. */
  pciDeviceSpec?: string;
  /** `nvidia_gpu`: enabled vGPU types (`nvidia-223`, `nvidia-223@0000:3b:00.0`), comma-separated. */
  nvidiaVgpuTypes?: string;
  nvidiaSmiPath?: string;
  lspciPath?: string;
  fpgaconfPath?: string;
  /** `xrt-smi` or `xbutil`: loads a user's xclbin into a Xilinx card. */
  xrtSmiPath?: string;
  /** A kernel log file the `nvidia_gpu` driver reads XID events from; empty: none. */
  nvidiaXidLogPath?: string;
  /** How long programming a bitstream may take before it is killed and refused. */
  programTimeoutMs?: number;
  /** How long `lspci` or `nvidia-smi` may take during discovery. */
  toolTimeoutMs?: number;
}

/** The agent's driver settings as the settings loader names them (`AGENT_*`). */
export interface AgentDriverSettings {
  AGENT_HOSTNAME: string;
  AGENT_SIMULATED_HOST_FILE: string;
  AGENT_SYSFS_ROOT: string;
  AGENT_PCI_DEVICE_SPEC: string;
  AGENT_NVIDIA_VGPU_TYPES: string;
  AGENT_NVIDIA_SMI_PATH: string;
  AGENT_NVIDIA_XID_LOG: string;
  AGENT_LSPCI_PATH: string;
  AGENT_FPGACONF_PATH: string;
  AGENT_XRT_SMI_PATH: string;
}

/** One mapping from the settings to the drivers, for the agent and for `cyborg discover`. */
export function driverSettingsOf(settings: AgentDriverSettings): DriverSettings {
  return {
    hostname: settings.AGENT_HOSTNAME,
    simulatedHostFile: settings.AGENT_SIMULATED_HOST_FILE,
    sysfsRoot: settings.AGENT_SYSFS_ROOT,
    pciDeviceSpec: settings.AGENT_PCI_DEVICE_SPEC,
    nvidiaVgpuTypes: settings.AGENT_NVIDIA_VGPU_TYPES,
    nvidiaSmiPath: settings.AGENT_NVIDIA_SMI_PATH,
    nvidiaXidLogPath: settings.AGENT_NVIDIA_XID_LOG,
    lspciPath: settings.AGENT_LSPCI_PATH,
    fpgaconfPath: settings.AGENT_FPGACONF_PATH,
    xrtSmiPath: settings.AGENT_XRT_SMI_PATH,
  };
}

export class UnknownDriverError extends Error {
  constructor(readonly driver: string) {
    super(`unknown accelerator driver ${JSON.stringify(driver)}; known drivers: ${DRIVER_NAMES.join(', ')}`);
    this.name = 'UnknownDriverError';
  }
}

/**
 * Builds the drivers an agent enables, by name. An unknown name or an invalid driver
 * configuration (`DriverConfigurationError`) throws: the agent stops at start.
 */
export function createDrivers(names: readonly string[], settings: DriverSettings): AcceleratorDriver[] {
  return [...new Set(names)].map((name) => createDriver(name, settings));
}

export function createDriver(name: string, settings: DriverSettings): AcceleratorDriver {
  const { hostname } = settings;
  const sysfsRoot = settings.sysfsRoot ?? DEFAULT_SYSFS_ROOT;
  switch (name) {
    case 'fake':
      return new FakeDriver(hostname);
    case 'simulated':
      return new SimulatedDriver({ hostname, file: settings.simulatedHostFile ?? DEFAULT_SIMULATED_HOST_FILE });
    case 'pci':
      return new PciPassthroughDriver({ hostname, sysfsRoot, deviceSpec: settings.pciDeviceSpec ?? '[]' });
    case 'nvidia_gpu':
      return new NvidiaGpuDriver({
        hostname,
        sysfsRoot,
        vgpuTypes: settings.nvidiaVgpuTypes ?? '',
        nvidiaSmiPath: settings.nvidiaSmiPath ?? DEFAULT_NVIDIA_SMI_PATH,
        xidLogPath: settings.nvidiaXidLogPath ?? '',
        toolTimeoutMs: settings.toolTimeoutMs,
      });
    case 'intel_fpga':
      return new IntelFpgaDriver({
        hostname,
        sysfsRoot,
        fpgaconfPath: settings.fpgaconfPath ?? DEFAULT_FPGACONF_PATH,
        programTimeoutMs: settings.programTimeoutMs,
      });
    case 'xilinx_fpga':
      return new XilinxFpgaDriver({
        hostname,
        sysfsRoot,
        lspciPath: settings.lspciPath ?? DEFAULT_LSPCI_PATH,
        xrtSmiPath: settings.xrtSmiPath ?? DEFAULT_XRT_SMI_PATH,
        toolTimeoutMs: settings.toolTimeoutMs,
        programTimeoutMs: settings.programTimeoutMs,
      });
    default:
      throw new UnknownDriverError(name);
  }
}
