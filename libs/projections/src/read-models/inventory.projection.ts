import {
  AttachHandleAdded,
  AttachHandleAllocated,
  AttachHandleReleased,
  AttachHandleDraining,
  AttachHandleRemoved,
  AttachHandleUpdated,
  AttributeAdded,
  AttributeRemoved,
  AttributeUpdated,
  DeployableAdded,
  DeployableDraining,
  DeployableProgrammed,
  DeployableRemoved,
  DeployableUpdated,
  DeviceAdded,
  DeviceDisabled,
  DeviceDraining,
  DeviceEnabled,
  DeviceFenceReleased,
  DeviceHealthChanged,
  DeviceRemoved,
  DeviceUpdated,
} from '@cyborg/contracts';
import { foldingProjection } from '../projection';

/**
 * Keeps `devices`, `deployables`, `attach_handles` and `attributes` from the
 * host streams, including binds taking and giving back handles and devices'
 * status. Cyborg's integer ids are the log positions of the Added events
 * (links such as `device_id` are the linked row's id when the event is
 * applied) and timestamps the events' own, so a rebuild gives the same rows.
 */
export const inventoryProjection = foldingProjection({
  name: 'inventory',
  tables: [
    {
      name: 'devices',
      columns: [
        'id',
        'uuid',
        'hostname',
        'control_path',
        'type',
        'vendor',
        'model',
        'std_board_info',
        'vendor_board_info',
        'driver_name',
        'status',
        'draining',
        'health',
        'health_reasons',
        'fenced',
        'created_at',
        'updated_at',
      ],
      json: ['health_reasons'],
    },
    {
      name: 'deployables',
      columns: [
        'id',
        'uuid',
        'hostname',
        'device_uuid',
        'device_id',
        'name',
        'parent_uuid',
        'parent_id',
        'root_uuid',
        'root_id',
        'num_accelerators',
        'rp_uuid',
        'driver_name',
        'bitstream_id',
        'draining',
        'created_at',
        'updated_at',
      ],
    },
    {
      name: 'attach_handles',
      columns: [
        'id',
        'uuid',
        'hostname',
        'deployable_uuid',
        'deployable_id',
        'device_uuid',
        'type',
        'info',
        'in_use',
        'allocated_to',
        'draining',
        'created_at',
        'updated_at',
      ],
    },
    {
      name: 'attributes',
      columns: [
        'id',
        'uuid',
        'hostname',
        'deployable_uuid',
        'deployable_id',
        'key',
        'value',
        'source',
        'created_at',
        'updated_at',
      ],
    },
  ],
  handlers: {
    [DeviceAdded.type](event, rows) {
      const d = event.data;
      rows.table('devices').insert({
        id: event.position,
        uuid: d.uuid,
        hostname: d.hostname,
        control_path: d.controlPath,
        type: d.type,
        vendor: d.vendor,
        model: d.model,
        std_board_info: d.stdBoardInfo,
        vendor_board_info: d.vendorBoardInfo,
        driver_name: d.driverName,
        status: 'enabled',
        draining: false,
        health: 'healthy',
        health_reasons: [],
        fenced: false,
        created_at: event.occurredAt,
        updated_at: null,
      });
    },
    [DeviceUpdated.type](event, rows) {
      const d = event.data;
      rows.table('devices').update(d.uuid, {
        type: d.type,
        vendor: d.vendor,
        model: d.model,
        std_board_info: d.stdBoardInfo,
        vendor_board_info: d.vendorBoardInfo,
        driver_name: d.driverName,
        draining: false,
        updated_at: event.occurredAt,
      });
    },
    [DeviceDisabled.type](event, rows) {
      const d = event.data;
      rows.table('devices').update(d.uuid, { status: 'maintaining', updated_at: event.occurredAt });
    },
    [DeviceEnabled.type](event, rows) {
      const d = event.data;
      rows.table('devices').update(d.uuid, { status: 'enabled', updated_at: event.occurredAt });
    },
    // Health is not what Cyborg's `updated_at` tracks: answers at older microversions stay as they were.
    [DeviceHealthChanged.type](event, rows) {
      const d = event.data;
      rows.table('devices').update(d.uuid, { health: d.to, health_reasons: d.reasons, fenced: d.fenced });
    },
    [DeviceFenceReleased.type](event, rows) {
      const d = event.data;
      rows.table('devices').update(d.uuid, { fenced: false });
    },
    [DeviceDraining.type](event, rows) {
      const d = event.data;
      rows.table('devices').update(d.uuid, { draining: true, updated_at: event.occurredAt });
    },
    [DeviceRemoved.type](event, rows) {
      const d = event.data;
      rows.table('devices').delete(d.uuid);
    },
    [DeployableAdded.type](event, rows) {
      const d = event.data;
      const deployables = rows.table('deployables');
      deployables.insert({
        id: event.position,
        uuid: d.uuid,
        hostname: d.hostname,
        device_uuid: d.deviceUuid,
        device_id: rows.table('devices').idOf(d.deviceUuid),
        name: d.name,
        parent_uuid: d.parentUuid,
        parent_id: deployables.idOf(d.parentUuid),
        root_uuid: d.rootUuid,
        root_id: deployables.idOf(d.rootUuid),
        num_accelerators: d.numAccelerators,
        rp_uuid: d.rpUuid,
        driver_name: d.driverName,
        bitstream_id: null,
        draining: false,
        created_at: event.occurredAt,
        updated_at: null,
      });
    },
    [DeployableProgrammed.type](event, rows) {
      const d = event.data;
      rows.table('deployables').update(d.uuid, { bitstream_id: d.bitstreamId, updated_at: event.occurredAt });
    },
    [DeployableUpdated.type](event, rows) {
      const d = event.data;
      const deployables = rows.table('deployables');
      deployables.update(d.uuid, {
        device_uuid: d.deviceUuid,
        device_id: rows.table('devices').idOf(d.deviceUuid),
        parent_uuid: d.parentUuid,
        parent_id: deployables.idOf(d.parentUuid),
        root_uuid: d.rootUuid,
        root_id: deployables.idOf(d.rootUuid),
        num_accelerators: d.numAccelerators,
        rp_uuid: d.rpUuid,
        driver_name: d.driverName,
        draining: false,
        updated_at: event.occurredAt,
      });
    },
    [DeployableDraining.type](event, rows) {
      const d = event.data;
      rows.table('deployables').update(d.uuid, { draining: true, updated_at: event.occurredAt });
    },
    [DeployableRemoved.type](event, rows) {
      const d = event.data;
      rows.table('deployables').delete(d.uuid);
    },
    [AttachHandleAdded.type](event, rows) {
      const d = event.data;
      rows.table('attach_handles').insert({
        id: event.position,
        uuid: d.uuid,
        hostname: d.hostname,
        deployable_uuid: d.deployableUuid,
        deployable_id: rows.table('deployables').idOf(d.deployableUuid),
        device_uuid: d.deviceUuid,
        type: d.type,
        info: d.info,
        in_use: false,
        allocated_to: null,
        draining: false,
        created_at: event.occurredAt,
        updated_at: null,
      });
    },
    [AttachHandleUpdated.type](event, rows) {
      const d = event.data;
      rows
        .table('attach_handles')
        .update(d.uuid, { device_uuid: d.deviceUuid, draining: false, updated_at: event.occurredAt });
    },
    [AttachHandleAllocated.type](event, rows) {
      const d = event.data;
      rows
        .table('attach_handles')
        .update(d.uuid, { in_use: true, allocated_to: d.arqUuid, updated_at: event.occurredAt });
    },
    [AttachHandleReleased.type](event, rows) {
      const d = event.data;
      rows.table('attach_handles').update(d.uuid, { in_use: false, allocated_to: null, updated_at: event.occurredAt });
    },
    [AttachHandleDraining.type](event, rows) {
      const d = event.data;
      rows.table('attach_handles').update(d.uuid, { draining: true, updated_at: event.occurredAt });
    },
    [AttachHandleRemoved.type](event, rows) {
      const d = event.data;
      rows.table('attach_handles').delete(d.uuid);
    },
    [AttributeAdded.type](event, rows) {
      const d = event.data;
      rows.table('attributes').insert({
        id: event.position,
        uuid: d.uuid,
        hostname: d.hostname,
        deployable_uuid: d.deployableUuid,
        deployable_id: rows.table('deployables').idOf(d.deployableUuid),
        key: d.key,
        value: d.value,
        source: d.source,
        created_at: event.occurredAt,
        updated_at: null,
      });
    },
    [AttributeUpdated.type](event, rows) {
      const d = event.data;
      rows.table('attributes').update(d.uuid, { value: d.value, updated_at: event.occurredAt });
    },
    [AttributeRemoved.type](event, rows) {
      const d = event.data;
      rows.table('attributes').delete(d.uuid);
    },
  },
});
