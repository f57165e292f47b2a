import { DeviceProfileCreated } from './device-profile-created.v1';
import { DeviceProfileDeleted } from './device-profile-deleted.v1';
import { DeviceProfileNameClaimed, DeviceProfileNameReleased } from './device-profile-name.v1';
import { HostRegistered } from './host-registered.v1';
import { HostDown, HostUp } from './host-liveness.v1';
import { inventoryEventSchemas } from './inventory/index';
import { arqEventSchemas } from './arq/index';
import { QuotaUsageCharged, QuotaUsageReleased } from './quota-usage.v1';

export * from './host-registered.v1';
export * from './host-liveness.v1';
export * from './device-profile-created.v1';
export * from './device-profile-deleted.v1';
export * from './device-profile-name.v1';
export * from './inventory/index';
export * from './arq/index';
export * from './quota-usage.v1';

export interface EventSchema {
  type: string;
  schemaVersion: number;
  /** upcasts[v] turns schema version v into v + 1. */
  upcasts?: Record<number, (data: Record<string, unknown>) => Record<string, unknown>>;
}

/** Every event type with its current schema version; the event store upcasts older ones on read. */
export const eventSchemas: EventSchema[] = [
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
