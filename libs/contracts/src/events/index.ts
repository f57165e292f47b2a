import { DeviceProfileCreated } from './device-profile-created.v1';
import { DeviceProfileDeleted } from './device-profile-deleted.v1';
import { DeviceProfileNameClaimed, DeviceProfileNameReleased } from './device-profile-name.v1';
import { HostRegistered } from './host-registered.v1';
import { HostDown, HostUp } from './host-liveness.v1';
import { type InventoryEvent, inventoryEventSchemas } from './inventory/index';
import { type ArqEvent, type AttachHandleAllocationEvent, arqEventSchemas, type InstanceEvent } from './arq/index';
import { type QuotaEvent, QuotaUsageCharged, QuotaUsageReleased } from './quota-usage.v1';

export * from './host-registered.v1';
export * from './host-liveness.v1';
export * from './device-profile-created.v1';
export * from './device-profile-deleted.v1';
export * from './device-profile-name.v1';
export * from './inventory/index';
export * from './arq/index';
export * from './event';
export * from './quota-usage.v1';

export type EventSchema = {
  type: string;
  schemaVersion: number;
  /** upcasts[v] turns schema version v into v + 1. */
  upcasts?: Record<number, (data: Record<string, unknown>) => Record<string, unknown>>;
};

/** Stream `host-<hostname>`: registration, liveness, inventory and the handles binds take. */
export type HostEvent = HostRegistered | HostDown | HostUp | InventoryEvent | AttachHandleAllocationEvent;
/** Stream `device_profile-<uuid>`. */
export type DeviceProfileEvent = DeviceProfileCreated | DeviceProfileDeleted;
/** Stream `device_profile_name-<name>`. */
export type DeviceProfileNameEvent = DeviceProfileNameClaimed | DeviceProfileNameReleased;
/** Every event of the log, discriminated by its type name. */
export type CyborgEvent =
  ArqEvent | HostEvent | DeviceProfileEvent | DeviceProfileNameEvent | InstanceEvent | QuotaEvent;

/**
 * Every event type with its current schema version; the event store upcasts
 * older ones on read. `events` types what a registry built from it reads.
 */
export const eventSchemas: EventSchema[] & { readonly events?: CyborgEvent } = [
  HostRegistered,
  HostDown,
  HostUp,
  DeviceProfileCreated,
  DeviceProfileDeleted,
  DeviceProfileNameClaimed,
  DeviceProfileNameReleased,
  ...inventoryEventSchemas,
  ...arqEventSchemas,
  QuotaUsageCharged,
  QuotaUsageReleased,
];

/**
 * Narrows an event read from the log (a processor's, a consumer's) to the
 * typed event its type name says. The store's registry upcast its data to
 * the type's current schema, so the name is all there is to check.
 */
export function isEvent<T extends CyborgEvent['type']>(
  event: { type: string },
  schema: { type: T },
): event is Extract<CyborgEvent, { type: T }> {
  return event.type === schema.type;
}

const CYBORG_EVENT_TYPES: ReadonlySet<string> = new Set(eventSchemas.map((s) => s.type));

/** Whether an event from outside the store (a JetStream message) is one of the log's types, then typed as such. */
export function isCyborgEvent(event: { type: string; data: Record<string, unknown> }): event is CyborgEvent {
  return CYBORG_EVENT_TYPES.has(event.type);
}
