import type { Event } from './event';
/**
 * Stream `host-<hostname>`: the host's agent stopped sending heartbeats
 * (binds to it fail at once), and came back (its next heartbeat or report).
 */
export const HostDown = { type: 'HostDown', schemaVersion: 1 } as const;
export const HostUp = { type: 'HostUp', schemaVersion: 1 } as const;

export type HostDownV1 = {
  hostname: string;
  /** ISO 8601: the last heartbeat the conductor heard; null when it never heard one. */
  lastSeenAt: string | null;
};

export type HostUpV1 = {
  hostname: string;
};

export type HostDown = Event<typeof HostDown.type, HostDownV1>;
export type HostUp = Event<typeof HostUp.type, HostUpV1>;
