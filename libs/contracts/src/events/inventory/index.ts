import {
  AttachHandleAdded,
  AttachHandleDraining,
  AttachHandleRemoved,
  AttachHandleUpdated,
} from './attach-handle-events.v1';
import { AttributeAdded, AttributeRemoved, AttributeUpdated } from './attribute-events.v1';
import { DeployableAdded, DeployableDraining, DeployableRemoved, DeployableUpdated } from './deployable-events.v1';
import { DeviceAdded, DeviceDraining, DeviceRemoved, DeviceUpdated } from './device-events.v1';
import { InventoryReported } from './inventory-reported.v1';

export * from './device-events.v1';
export * from './deployable-events.v1';
export * from './attach-handle-events.v1';
export * from './attribute-events.v1';
export * from './inventory-reported.v1';

/** The host-stream events of agent inventory reports. */
export const inventoryEventSchemas = [
  DeviceAdded,
  DeviceUpdated,
  DeviceDraining,
  DeviceRemoved,
  DeployableAdded,
  DeployableUpdated,
  DeployableDraining,
  DeployableRemoved,
  AttachHandleAdded,
  AttachHandleUpdated,
  AttachHandleDraining,
  AttachHandleRemoved,
  AttributeAdded,
  AttributeUpdated,
  AttributeRemoved,
  InventoryReported,
] as const;
