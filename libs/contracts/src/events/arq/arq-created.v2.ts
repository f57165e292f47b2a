import type { Event } from '../event';
import type { DeviceProfileGroup } from '../device-profile-created.v1';
import type { ArqCreatedV1 } from './arq-events.v1';

/**
 * Stream `arq-<uuid>`: an ARQ was made for one unit of one device-profile group.
 *
 * Schema 2 records which resource class that unit is. Version 1 copied only
 * the group, so the ARQs of a group asking for `resources:FPGA=1` and
 * `resources:CUSTOM_QAT=1` were indistinguishable until bound, and usage by
 * resource class could not place them. Version 1 events are upcast on read:
 * a group naming one resource class gives it; a group naming several gives
 * null, since v1 never recorded which unit the ARQ was.
 */
export const ArqCreated = {
  type: 'ArqCreated',
  schemaVersion: 2,
  upcasts: { 1: upcastArqCreatedV1 },
} as const;

export type ArqCreatedV2 = ArqCreatedV1 & {
  /** The Placement resource class of the unit this ARQ stands for; null only for upcast v1 events. */
  resourceClass: string | null;
};

/** A group's `resources[<n>]:<class>` entries with a positive amount, in the group's key order. */
export function resourcesOfGroup(group: DeviceProfileGroup): { resourceClass: string; amount: number }[] {
  const out: { resourceClass: string; amount: number }[] = [];
  for (const [key, value] of Object.entries(group)) {
    const colon = key.indexOf(':');
    if (!key.startsWith('resources') || colon < 0) continue;
    const amount = Number.parseInt(String(value), 10);
    if (Number.isFinite(amount) && amount > 0) out.push({ resourceClass: key.slice(colon + 1), amount });
  }
  return out;
}

/** v1 → v2: the group's one resource class, or null when it names several (or none). */
export function upcastArqCreatedV1(data: Record<string, unknown>): Record<string, unknown> {
  const group = data.deviceProfileGroup;
  const classes =
    typeof group === 'object' && group !== null
      ? new Set(resourcesOfGroup(group as DeviceProfileGroup).map((r) => r.resourceClass))
      : new Set<string>();
  return { ...data, resourceClass: classes.size === 1 ? [...classes][0] : null };
}

export type ArqCreated = Event<typeof ArqCreated.type, ArqCreatedV2>;
