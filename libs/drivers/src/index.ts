export * from './inventory';
export * from './pci';
export * from './driver';
export * from './registry';
export * from './host-discovery';
export { FakeDriver, fakeDevice, fakeDeployableName, FAKE_NUM_ACCELERATORS } from './fake/fake.driver';
export { SimulatedDriver, type SimulatedDriverOptions } from './simulated/simulated.driver';
export {
  parseSimulatedHost,
  checkFaults,
  PROGRAM_FAULTS,
  DISCOVER_FAULTS,
  type SimulatedHostSpec,
  type SimulatedDeviceSpec,
  type SimulatedDeployableSpec,
  type SimulatedHandlesSpec,
  type SimulatedFaults,
  type SimulatedDeviceFaults,
  type SimulatedHostParseResult,
  type SkippedDeviceEntry,
} from './simulated/simulated-host.schema';
export {
  discoverSimulatedHost,
  mergeFaults,
  type SimulatedDevice,
  type SimulatedDiscovery,
} from './simulated/simulated-host';
export { verifyBitstreamChecksum } from './bitstream';
export { DEFAULT_SYSFS_ROOT } from './sysfs';
export { DEFAULT_PROGRAM_TIMEOUT_MS, DEFAULT_TOOL_TIMEOUT_MS } from './tool';
export { PciPassthroughDriver, PCI_DRIVER, type PciDriverOptions } from './pci-passthrough/pci.driver';
export { parsePciDeviceSpecs, type PciDeviceSpec } from './pci-passthrough/device-spec';
export { NvidiaGpuDriver, NVIDIA_GPU_DRIVER, type NvidiaGpuDriverOptions } from './nvidia-gpu/nvidia-gpu.driver';
export { parseVgpuTypes, type VgpuTypeConfig } from './nvidia-gpu/vgpu-types';
export {
  IntelFpgaDriver,
  INTEL_FPGA_DRIVER,
  DEFAULT_FPGACONF_PATH,
  type IntelFpgaDriverOptions,
} from './intel-fpga/intel-fpga.driver';
export {
  XilinxFpgaDriver,
  XILINX_FPGA_DRIVER,
  DEFAULT_XRT_SMI_PATH,
  DEFAULT_LSPCI_PATH,
  type XilinxFpgaDriverOptions,
} from './xilinx-fpga/xilinx-fpga.driver';
export * from './health';
export * from './reshape';
export { HEALTH_FAULTS, simulatedHealth } from './simulated/simulated-health';
export { reshapeSimulatedDevice } from './simulated/simulated-reshape';
export * from './topology';
export { inventorySnapshot, reportedDevice } from './reported-inventory';
