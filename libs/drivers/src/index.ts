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
