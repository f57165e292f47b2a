import type { AcceleratorDriver } from './driver';
import { FakeDriver } from './fake/fake.driver';
import { SimulatedDriver } from './simulated/simulated.driver';

/** The example host `npm start` simulates, relative to the repository root. */
export const DEFAULT_SIMULATED_HOST_FILE = 'deploy/simulated-host.yaml';

export const DRIVER_NAMES = ['fake', 'simulated'] as const;
export type DriverName = (typeof DRIVER_NAMES)[number];

export interface DriverSettings {
  hostname: string;
  simulatedHostFile?: string;
}

export class UnknownDriverError extends Error {
  constructor(readonly driver: string) {
    super(`unknown accelerator driver ${JSON.stringify(driver)}; known drivers: ${DRIVER_NAMES.join(', ')}`);
    this.name = 'UnknownDriverError';
  }
}

/** Builds the drivers an agent enables, by name; an unknown name is a configuration error. */
export function createDrivers(names: readonly string[], settings: DriverSettings): AcceleratorDriver[] {
  return [...new Set(names)].map((name) => createDriver(name, settings));
}

export function createDriver(name: string, settings: DriverSettings): AcceleratorDriver {
  switch (name) {
    case 'fake':
      return new FakeDriver(settings.hostname);
    case 'simulated':
      return new SimulatedDriver({
        hostname: settings.hostname,
        file: settings.simulatedHostFile ?? DEFAULT_SIMULATED_HOST_FILE,
      });
    default:
      throw new UnknownDriverError(name);
  }
}
