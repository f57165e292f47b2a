import {
  AttachHandleAdded,
  AttachHandleAllocated,
  type AttachHandleAllocatedV1,
  AttachHandleReleased,
  type AttachHandleReleasedV1,
  type AttachHandleAddedV1,
  AttachHandleDraining,
  type AttachHandleDrainingV1,
  AttachHandleRemoved,
  type AttachHandleRemovedV1,
  AttachHandleUpdated,
  type AttachHandleUpdatedV1,
  AttributeAdded,
  type AttributeAddedV1,
  AttributeRemoved,
  type AttributeRemovedV1,
  AttributeUpdated,
  type AttributeUpdatedV1,
  DeployableAdded,
  type DeployableAddedV1,
  DeployableDraining,
  type DeployableDrainingV1,
  DeployableRemoved,
  type DeployableRemovedV1,
  DeployableUpdated,
  type DeployableUpdatedV1,
  DeviceAdded,
  type DeviceAddedV1,
  DeviceDisabled,
  type DeviceDisabledV1,
  DeviceDraining,
  type DeviceDrainingV1,
  DeviceEnabled,
  type DeviceEnabledV1,
  DeviceRemoved,
  type DeviceRemovedV1,
  DeviceUpdated,
  type DeviceUpdatedV1,
} from '@cyborg/contracts';
import type { Projection } from '../projection';

/** Cyborg shows links as integer ids: the referenced row's, looked up by uuid. */
const deviceId = (param: string) => `(SELECT id FROM devices WHERE uuid = ${param})`;
const deployableId = (param: string) => `(SELECT id FROM deployables WHERE uuid = ${param})`;

/**
 * Keeps `devices`, `deployables`, `attach_handles` and `attributes` from the
 * host streams, including binds taking and giving back handles and devices'
 * status. Cyborg's integer ids are the log positions of the Added
 * events and timestamps the events' own, so a rebuild gives the same rows.
 */
export const inventoryProjection: Projection = {
  name: 'inventory',
  eventTypes: [
    DeviceAdded.type,
    DeviceUpdated.type,
    DeviceDraining.type,
    DeviceRemoved.type,
    DeployableAdded.type,
    DeployableUpdated.type,
    DeployableDraining.type,
    DeployableRemoved.type,
    AttachHandleAdded.type,
    AttachHandleUpdated.type,
    AttachHandleDraining.type,
    AttachHandleRemoved.type,
    AttributeAdded.type,
    AttributeUpdated.type,
    AttributeRemoved.type,
    AttachHandleAllocated.type,
    AttachHandleReleased.type,
    DeviceDisabled.type,
    DeviceEnabled.type,
  ],
  tables: ['devices', 'deployables', 'attach_handles', 'attributes'],
  async apply(event, tx) {
    const at = event.occurredAt;
    switch (event.type) {
      case DeviceAdded.type: {
        const d = event.data as unknown as DeviceAddedV1;
        await tx.query(
          `INSERT INTO devices (id, uuid, hostname, control_path, type, vendor, model, std_board_info,
                                vendor_board_info, driver_name, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            event.position,
            d.uuid,
            d.hostname,
            d.controlPath,
            d.type,
            d.vendor,
            d.model,
            d.stdBoardInfo,
            d.vendorBoardInfo,
            d.driverName,
            at,
          ],
        );
        return;
      }
      case DeviceUpdated.type: {
        const d = event.data as unknown as DeviceUpdatedV1;
        await tx.query(
          `UPDATE devices SET type = $2, vendor = $3, model = $4, std_board_info = $5, vendor_board_info = $6,
                              driver_name = $7, draining = false, updated_at = $8
           WHERE uuid = $1`,
          [d.uuid, d.type, d.vendor, d.model, d.stdBoardInfo, d.vendorBoardInfo, d.driverName, at],
        );
        return;
      }
      case DeviceDisabled.type:
      case DeviceEnabled.type: {
        const d = event.data as unknown as DeviceDisabledV1 | DeviceEnabledV1;
        const status = event.type === DeviceDisabled.type ? 'maintaining' : 'enabled';
        await tx.query(`UPDATE devices SET status = $2, updated_at = $3 WHERE uuid = $1`, [d.uuid, status, at]);
        return;
      }
      case DeviceDraining.type: {
        const d = event.data as unknown as DeviceDrainingV1;
        await tx.query(`UPDATE devices SET draining = true, updated_at = $2 WHERE uuid = $1`, [d.uuid, at]);
        return;
      }
      case DeviceRemoved.type: {
        const d = event.data as unknown as DeviceRemovedV1;
        await tx.query(`DELETE FROM devices WHERE uuid = $1`, [d.uuid]);
        return;
      }
      case DeployableAdded.type: {
        const d = event.data as unknown as DeployableAddedV1;
        await tx.query(
          `INSERT INTO deployables (id, uuid, hostname, device_uuid, device_id, name, parent_uuid, parent_id,
                                    root_uuid, root_id, num_accelerators, rp_uuid, driver_name, created_at)
           VALUES ($1, $2, $3, $4, ${deviceId('$4')}, $5, $6, ${deployableId('$6')},
                   $7, ${deployableId('$7')}, $8, $9, $10, $11)`,
          [
            event.position,
            d.uuid,
            d.hostname,
            d.deviceUuid,
            d.name,
            d.parentUuid,
            d.rootUuid,
            d.numAccelerators,
            d.rpUuid,
            d.driverName,
            at,
          ],
        );
        return;
      }
      case DeployableUpdated.type: {
        const d = event.data as unknown as DeployableUpdatedV1;
        await tx.query(
          `UPDATE deployables SET device_uuid = $2, device_id = ${deviceId('$2')},
                                  parent_uuid = $3, parent_id = ${deployableId('$3')},
                                  root_uuid = $4, root_id = ${deployableId('$4')},
                                  num_accelerators = $5, rp_uuid = $6, driver_name = $7,
                                  draining = false, updated_at = $8
           WHERE uuid = $1`,
          [d.uuid, d.deviceUuid, d.parentUuid, d.rootUuid, d.numAccelerators, d.rpUuid, d.driverName, at],
        );
        return;
      }
      case DeployableDraining.type: {
        const d = event.data as unknown as DeployableDrainingV1;
        await tx.query(`UPDATE deployables SET draining = true, updated_at = $2 WHERE uuid = $1`, [d.uuid, at]);
        return;
      }
      case DeployableRemoved.type: {
        const d = event.data as unknown as DeployableRemovedV1;
        await tx.query(`DELETE FROM deployables WHERE uuid = $1`, [d.uuid]);
        return;
      }
      case AttachHandleAdded.type: {
        const d = event.data as unknown as AttachHandleAddedV1;
        await tx.query(
          `INSERT INTO attach_handles (id, uuid, hostname, deployable_uuid, deployable_id, device_uuid, type, info, created_at)
           VALUES ($1, $2, $3, $4, ${deployableId('$4')}, $5, $6, $7, $8)`,
          [event.position, d.uuid, d.hostname, d.deployableUuid, d.deviceUuid, d.type, d.info, at],
        );
        return;
      }
      case AttachHandleUpdated.type: {
        const d = event.data as unknown as AttachHandleUpdatedV1;
        await tx.query(
          `UPDATE attach_handles SET device_uuid = $2, draining = false, updated_at = $3 WHERE uuid = $1`,
          [d.uuid, d.deviceUuid, at],
        );
        return;
      }
      case AttachHandleAllocated.type: {
        const d = event.data as unknown as AttachHandleAllocatedV1;
        await tx.query(`UPDATE attach_handles SET in_use = true, allocated_to = $2, updated_at = $3 WHERE uuid = $1`, [
          d.uuid,
          d.arqUuid,
          at,
        ]);
        return;
      }
      case AttachHandleReleased.type: {
        const d = event.data as unknown as AttachHandleReleasedV1;
        await tx.query(
          `UPDATE attach_handles SET in_use = false, allocated_to = NULL, updated_at = $2 WHERE uuid = $1`,
          [d.uuid, at],
        );
        return;
      }
      case AttachHandleDraining.type: {
        const d = event.data as unknown as AttachHandleDrainingV1;
        await tx.query(`UPDATE attach_handles SET draining = true, updated_at = $2 WHERE uuid = $1`, [d.uuid, at]);
        return;
      }
      case AttachHandleRemoved.type: {
        const d = event.data as unknown as AttachHandleRemovedV1;
        await tx.query(`DELETE FROM attach_handles WHERE uuid = $1`, [d.uuid]);
        return;
      }
      case AttributeAdded.type: {
        const d = event.data as unknown as AttributeAddedV1;
        await tx.query(
          `INSERT INTO attributes (id, uuid, hostname, deployable_uuid, deployable_id, key, value, source, created_at)
           VALUES ($1, $2, $3, $4, ${deployableId('$4')}, $5, $6, $7, $8)`,
          [event.position, d.uuid, d.hostname, d.deployableUuid, d.key, d.value, d.source, at],
        );
        return;
      }
      case AttributeUpdated.type: {
        const d = event.data as unknown as AttributeUpdatedV1;
        await tx.query(`UPDATE attributes SET value = $2, updated_at = $3 WHERE uuid = $1`, [d.uuid, d.value, at]);
        return;
      }
      case AttributeRemoved.type: {
        const d = event.data as unknown as AttributeRemovedV1;
        await tx.query(`DELETE FROM attributes WHERE uuid = $1`, [d.uuid]);
        return;
      }
    }
  },
};
