/**
 * A device's health as its driver sees it (like a Kubernetes DRA device
 * taint): healthy, degraded (shown, still schedulable) or unhealthy (takes
 * no new binds). Every reason names what the driver saw, with its evidence.
 */
export const HEALTH_STATUSES = ['healthy', 'degraded', 'unhealthy'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface HealthReason {
  /** Stable, machine-readable: `xid`, `ecc_uncorrectable`, `row_remap_pending`, `fallen_off_bus`, `aer_fatal`, `link_down`, `temperature`, `power`, `port_error`, ... */
  code: string;
  /** What an operator reads: `XID 79: GPU has fallen off the bus`. */
  message: string;
  /** The values the driver read, as read (counter values, sysfs paths, thresholds). */
  evidence?: Record<string, string | number | boolean>;
}

export interface DeviceHealth {
  status: HealthStatus;
  /** Empty when healthy. */
  reasons: HealthReason[];
}

export const HEALTHY: DeviceHealth = { status: 'healthy', reasons: [] };

/** The worst status of several findings, with all their reasons. */
export function combineHealth(findings: readonly DeviceHealth[]): DeviceHealth {
  const rank = (s: HealthStatus) => HEALTH_STATUSES.indexOf(s);
  const status = findings.reduce<HealthStatus>(
    (worst, f) => (rank(f.status) > rank(worst) ? f.status : worst),
    'healthy',
  );
  return { status, reasons: findings.flatMap((f) => f.reasons) };
}
