import type { AcceleratorDriver, DiscoveryWarning, DriverCallOptions } from './driver';
import { checkInventory, controlPathKey, type DiscoveredDevice, type HostInventory } from './inventory';

/** Each driver's devices as they went into the last snapshot, by driver name. */
export type DevicesByDriver = ReadonlyMap<string, readonly DiscoveredDevice[]>;

export interface HostDiscovery {
  inventory: HostInventory;
  /** Pass back as `previous` next time: what a failing driver or an unreadable device falls back to. */
  devicesByDriver: DevicesByDriver;
  warnings: DiscoveryWarning[];
}

/**
 * One snapshot of the host from every driver. What cannot be read is unknown,
 * not gone: a driver whose discovery fails keeps its previous devices, and a
 * device a driver names in a warning keeps its previous state. Reporting
 * those as removed is what wedged upstream's reporting for allocated devices.
 * Devices that would make the snapshot ambiguous (see `checkInventory`) are
 * left out with a warning.
 */
export async function discoverHost(
  hostname: string,
  drivers: readonly AcceleratorDriver[],
  previous: DevicesByDriver = new Map(),
  options: DriverCallOptions = {},
): Promise<HostDiscovery> {
  const settled = await Promise.allSettled(drivers.map((driver) => driver.discover(options)));
  options.signal?.throwIfAborted();

  const warnings: DiscoveryWarning[] = [];
  const found: { driver: string; device: DiscoveredDevice }[] = [];
  settled.forEach((outcome, i) => {
    const driver = drivers[i].name;
    const before = previous.get(driver) ?? [];
    if (outcome.status === 'rejected') {
      const reason = outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason);
      warnings.push({
        driver,
        message: `discovery failed; keeping the ${before.length} devices it last reported: ${reason}`,
      });
      for (const device of before) found.push({ driver, device });
      return;
    }
    const { devices, warnings: driverWarnings } = outcome.value;
    const reported = new Set(devices.map((d) => controlPathKey(d.controlPathId)));
    for (const device of devices) found.push({ driver, device });
    for (const warning of driverWarnings) {
      warnings.push(warning);
      if (!warning.controlPathId) continue;
      const key = controlPathKey(warning.controlPathId);
      const last = before.find((d) => controlPathKey(d.controlPathId) === key);
      if (last && !reported.has(key)) {
        found.push({ driver, device: last });
        reported.add(key);
      }
    }
  });

  const problems = checkInventory(found.map((f) => f.device));
  const rejected = new Set(problems.map((p) => p.deviceIndex));
  for (const problem of problems) {
    const { driver, device } = found[problem.deviceIndex];
    warnings.push({ driver, controlPathId: device.controlPathId, message: `device left out: ${problem.message}` });
  }
  const kept = found.filter((_, i) => !rejected.has(i));
  const devicesByDriver = new Map<string, DiscoveredDevice[]>(drivers.map((d) => [d.name, []]));
  for (const { driver, device } of kept) devicesByDriver.get(driver)?.push(device);
  return { inventory: { hostname, devices: kept.map((k) => k.device) }, devicesByDriver, warnings };
}
