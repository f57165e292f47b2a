import type { Event } from './event';
/**
 * Stream `quota-<project id>`: what a project's ARQs count against its
 * limits. Appended in the same transaction as the ARQs they count, with an
 * expected version, so two creates can never both take the last unit.
 */
export const QuotaUsageCharged = { type: 'QuotaUsageCharged', schemaVersion: 1 } as const;

export type QuotaUsageChargedV1 = {
  projectId: string;
  /** One entry per ARQ created: the Keystone resource it counts as one of (`class:FPGA`). */
  charges: { arqUuid: string; resourceName: string }[];
};

/** Stream `quota-<project id>`: deleted ARQs no longer count. */
export const QuotaUsageReleased = { type: 'QuotaUsageReleased', schemaVersion: 1 } as const;

export type QuotaUsageReleasedV1 = {
  projectId: string;
  arqUuids: string[];
};

export type QuotaUsageCharged = Event<typeof QuotaUsageCharged.type, QuotaUsageChargedV1>;
export type QuotaUsageReleased = Event<typeof QuotaUsageReleased.type, QuotaUsageReleasedV1>;
export type QuotaEvent = QuotaUsageCharged | QuotaUsageReleased;
