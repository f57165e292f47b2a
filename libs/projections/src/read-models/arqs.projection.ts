import {
  ArqBindFailed,
  ArqBindStarted,
  ArqBound,
  ArqCreated,
  ArqDeleted,
  ArqUnbound,
  ArqDeviceHealthChanged,
} from '@cyborg/contracts';
import { foldingProjection } from '../projection';

/** Keeps `arqs`: one row per live ARQ. */
export const arqsProjection = foldingProjection({
  name: 'arqs',
  tables: [
    {
      name: 'arqs',
      columns: [
        'id',
        'uuid',
        'state',
        'device_profile_uuid',
        'device_profile_name',
        'device_profile_group_id',
        'device_profile_group',
        'project_id',
        'hostname',
        'device_rp_uuid',
        'instance_uuid',
        'attach_handle_uuid',
        'attach_handle_type',
        'attach_handle_info',
        'bind_attempt',
        'bind_deadline',
        'bind_failure',
        'device_health',
        'device_health_reasons',
        'created_at',
        'updated_at',
      ],
      json: ['device_profile_group', 'device_health_reasons'],
    },
  ],
  handlers: {
    [ArqCreated.type](event, rows) {
      const d = event.data;
      rows.table('arqs').insert({
        id: event.position,
        uuid: d.uuid,
        state: 'Initial',
        device_profile_uuid: d.deviceProfileUuid,
        device_profile_name: d.deviceProfileName,
        device_profile_group_id: d.deviceProfileGroupId,
        device_profile_group: d.deviceProfileGroup,
        project_id: d.projectId,
        hostname: null,
        device_rp_uuid: null,
        instance_uuid: null,
        attach_handle_uuid: null,
        attach_handle_type: null,
        attach_handle_info: null,
        bind_attempt: 0,
        bind_deadline: null,
        bind_failure: null,
        device_health: null,
        device_health_reasons: null,
        created_at: d.createdAt,
        updated_at: null,
      });
    },
    [ArqBindStarted.type](event, rows) {
      const d = event.data;
      rows.table('arqs').update(d.uuid, {
        state: 'BindStarted',
        hostname: d.hostname,
        device_rp_uuid: d.deviceRpUuid,
        instance_uuid: d.instanceUuid,
        project_id: d.projectId,
        attach_handle_uuid: d.attachHandle.uuid,
        attach_handle_type: d.attachHandle.type,
        attach_handle_info: d.attachHandle.info,
        bind_attempt: d.attempt,
        bind_deadline: d.deadline,
        bind_failure: null,
        device_health: null,
        device_health_reasons: null,
        updated_at: event.occurredAt,
      });
    },
    [ArqBound.type](event, rows) {
      const d = event.data;
      rows.table('arqs').update(d.uuid, {
        state: 'Bound',
        attach_handle_uuid: d.attachHandleUuid,
        attach_handle_type: d.attachHandleType,
        attach_handle_info: d.attachHandleInfo,
        bind_deadline: null,
        updated_at: event.occurredAt,
      });
    },
    [ArqBindFailed.type](event, rows) {
      const d = event.data;
      rows.table('arqs').update(d.uuid, (arq) => ({
        state: 'BindFailed',
        hostname: d.hostname,
        device_rp_uuid: d.deviceRpUuid,
        instance_uuid: d.instanceUuid,
        project_id: d.projectId,
        bind_attempt: d.attempt,
        bind_failure: d.reason,
        bind_deadline: null,
        // The handle stays with the ARQ while it still holds it (until unbind or delete).
        attach_handle_uuid: d.holdsAttachHandle ? arq.attach_handle_uuid : null,
        attach_handle_type: d.holdsAttachHandle ? arq.attach_handle_type : null,
        attach_handle_info: d.holdsAttachHandle ? arq.attach_handle_info : null,
        device_health: d.holdsAttachHandle ? arq.device_health : null,
        device_health_reasons: d.holdsAttachHandle ? arq.device_health_reasons : null,
        updated_at: event.occurredAt,
      }));
    },
    [ArqUnbound.type](event, rows) {
      const d = event.data;
      rows.table('arqs').update(d.uuid, {
        state: 'Unbound',
        hostname: null,
        device_rp_uuid: null,
        instance_uuid: null,
        attach_handle_uuid: null,
        attach_handle_type: null,
        attach_handle_info: null,
        bind_deadline: null,
        device_health: null,
        device_health_reasons: null,
        updated_at: event.occurredAt,
      });
    },
    // Not an `updated_at` of Cyborg's: ARQs answer at older microversions as before.
    [ArqDeviceHealthChanged.type](event, rows) {
      const d = event.data;
      rows.table('arqs').update(d.uuid, { device_health: d.health, device_health_reasons: d.reasons });
    },
    [ArqDeleted.type](event, rows) {
      const d = event.data;
      rows.table('arqs').delete(d.uuid);
    },
  },
});
