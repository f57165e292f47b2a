import {
  AttachHandleAdded,
  AttachHandleDraining,
  AttachHandleRemoved,
  AttachHandleUpdated,
} from './attach-handle-events.v1';
import { AttributeAdded, AttributeRemoved, AttributeUpdated } from './attribute-events.v1';
import { DeployableAdded, DeployableDraining, DeployableRemoved, DeployableUpdated } from './deployable-events.v1';
import {
  DeviceAdded,
  DeviceDisabled,
  DeviceDraining,
  DeviceEnabled,
  DeviceRemoved,
  DeviceUpdated,
} from './device-events.v1';
import { InventoryReported } from './inventory-reported.v1';
import { DeviceFenceReleased, DeviceHealthChanged } from './device-health.v1';
import { DeviceReshapeApplied, DeviceReshapeFailed, DeviceReshapeRequested } from './device-reshape.v1';
import {
  DeployableProgrammed,
  DeployableProgrammingFailed,
  DeployableProgrammingStarted,
} from './deployable-programmed.v1';

export * from './device-events.v1';
export * from './deployable-events.v1';
export * from './attach-handle-events.v1';
export * from './attribute-events.v1';
export * from './inventory-reported.v1';
export * from './deployable-programmed.v1';
export * from './device-health.v1';
export * from './device-reshape.v1';

/** The host-stream events of the inventory: agent reports, and operators enabling or disabling a device. */
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
  DeviceDisabled,
  DeviceEnabled,
  DeployableProgrammed,
  DeployableProgrammingStarted,
  DeployableProgrammingFailed,
  DeviceHealthChanged,
  DeviceFenceReleased,
  DeviceReshapeRequested,
  DeviceReshapeApplied,
  DeviceReshapeFailed,
] as const;

/** The host-stream events of the inventory. */
export type InventoryEvent =
  | DeviceAdded
  | DeviceUpdated
  | DeviceDraining
  | DeviceRemoved
  | DeployableAdded
  | DeployableUpdated
  | DeployableDraining
  | DeployableRemoved
  | AttachHandleAdded
  | AttachHandleUpdated
  | AttachHandleDraining
  | AttachHandleRemoved
  | AttributeAdded
  | AttributeUpdated
  | AttributeRemoved
  | InventoryReported
  | DeviceDisabled
  | DeviceEnabled
  | DeployableProgrammed
  | DeployableProgrammingStarted
  | DeployableProgrammingFailed
  | DeviceHealthChanged
  | DeviceFenceReleased
  | DeviceReshapeRequested
  | DeviceReshapeApplied
  | DeviceReshapeFailed;
