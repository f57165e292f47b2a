import type { Event } from './event';
/** Stream `host-<hostname>`: an agent started serving the host, or changed drivers or version. */
export const HostRegistered = { type: 'HostRegistered', schemaVersion: 1 } as const;

export type HostRegisteredV1 = {
  hostname: string;
  drivers: string[];
  agentVersion: string;
};

export type HostRegistered = Event<typeof HostRegistered.type, HostRegisteredV1>;
