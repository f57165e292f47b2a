/**
 * Stream `host-<hostname>`: the host's agent stopped sending heartbeats
 * (binds to it fail at once), and came back (its next heartbeat or report).
 */
export const HostDown = { type: 'HostDown', schemaVersion: 1 } as const;
export const HostUp = { type: 'HostUp', schemaVersion: 1 } as const;

export interface HostDownV1 {
  hostname: string;
  /** ISO 8601: the last heartbeat the conductor heard; null when it never heard one. */
  lastSeenAt: string | null;
}

export interface HostUpV1 {
  hostname: string;
}
