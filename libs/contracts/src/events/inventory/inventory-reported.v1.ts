import type { Event } from '../event';
/**
 * Stream `host-<hostname>`: the host's inventory changed; closes the events of
 * one report. A report with the recorded hash appends nothing at all.
 */
export const InventoryReported = { type: 'InventoryReported', schemaVersion: 1 } as const;

export type InventoryReportedV1 = {
  hostname: string;
  /** Rises with every report of the host's agent, across restarts; older reports are refused. */
  generation: number;
  /** sha256 of the canonical snapshot. */
  hash: string;
};

export type InventoryReported = Event<typeof InventoryReported.type, InventoryReportedV1>;
