import { controlPathKey, type HostDiscovery } from '@cyborg/drivers';
import { processMetrics } from '@cyborg/metrics';

/** The series set last time, per host: a kind of device that went away drops out. */
const lastSeries = new Map<string, { type: string; health: string }[]>();

/**
 * Records a discovery: its duration, and `cyborg_agent_devices` by type and
 * health, `warning` for a device a driver warned about or whose driver
 * failed (its last known state was reported again), else `ok`.
 */
export function recordDiscovery(hostname: string, found: HostDiscovery, seconds: number): void {
  const metrics = processMetrics();
  metrics.discoveryDuration.observe({ hostname }, seconds);
  const failedDrivers = new Set(found.warnings.filter((w) => !w.controlPathId).map((w) => w.driver));
  const warned = new Set(found.warnings.flatMap((w) => (w.controlPathId ? [controlPathKey(w.controlPathId)] : [])));
  const counts = new Map<string, { type: string; health: string; n: number }>();
  for (const device of found.inventory.devices) {
    const unwell = warned.has(controlPathKey(device.controlPathId)) || failedDrivers.has(device.driverName);
    const health = unwell ? 'warning' : 'ok';
    const entry = counts.get(`${device.type}|${health}`) ?? { type: device.type, health, n: 0 };
    entry.n++;
    counts.set(`${device.type}|${health}`, entry);
  }
  for (const series of lastSeries.get(hostname) ?? []) metrics.agentDevices.remove({ hostname, ...series });
  for (const { type, health, n } of counts.values()) metrics.agentDevices.set({ hostname, type, health }, n);
  lastSeries.set(
    hostname,
    [...counts.values()].map(({ type, health }) => ({ type, health })),
  );
}
