import {
  ArqBindFailed,
  type ArqBindFailedV1,
  ArqBindStarted,
  type ArqBindStartedV1,
  ArqBound,
  type ArqBoundV1,
  ArqCreated,
  type ArqCreatedV1,
  ArqDeleted,
  type ArqDeletedV1,
  ArqUnbound,
  type ArqUnboundV1,
} from '@cyborg/contracts';
import type { Projection } from '../projection';

/** Keeps `arqs`: one row per live ARQ. */
export const arqsProjection: Projection = {
  name: 'arqs',
  eventTypes: [
    ArqCreated.type,
    ArqBindStarted.type,
    ArqBound.type,
    ArqBindFailed.type,
    ArqUnbound.type,
    ArqDeleted.type,
  ],
  tables: ['arqs'],
  async apply(event, tx) {
    const at = event.occurredAt;
    switch (event.type) {
      case ArqCreated.type: {
        const d = event.data as unknown as ArqCreatedV1;
        await tx.query(
          `INSERT INTO arqs (id, uuid, state, device_profile_uuid, device_profile_name, device_profile_group_id,
                             device_profile_group, project_id, created_at)
           VALUES ($1, $2, 'Initial', $3, $4, $5, $6, $7, $8)`,
          [
            event.position,
            d.uuid,
            d.deviceProfileUuid,
            d.deviceProfileName,
            d.deviceProfileGroupId,
            JSON.stringify(d.deviceProfileGroup),
            d.projectId,
            d.createdAt,
          ],
        );
        return;
      }
      case ArqBindStarted.type: {
        const d = event.data as unknown as ArqBindStartedV1;
        await tx.query(
          `UPDATE arqs SET state = 'BindStarted', hostname = $2, device_rp_uuid = $3, instance_uuid = $4,
                           project_id = $5, attach_handle_uuid = $6, attach_handle_type = $7,
                           attach_handle_info = $8, bind_attempt = $9, bind_deadline = $10, bind_failure = NULL,
                           updated_at = $11
           WHERE uuid = $1`,
          [
            d.uuid,
            d.hostname,
            d.deviceRpUuid,
            d.instanceUuid,
            d.projectId,
            d.attachHandle.uuid,
            d.attachHandle.type,
            d.attachHandle.info,
            d.attempt,
            d.deadline,
            at,
          ],
        );
        return;
      }
      case ArqBound.type: {
        const d = event.data as unknown as ArqBoundV1;
        await tx.query(
          `UPDATE arqs SET state = 'Bound', attach_handle_uuid = $2, attach_handle_type = $3, attach_handle_info = $4,
                           bind_deadline = NULL, updated_at = $5
           WHERE uuid = $1`,
          [d.uuid, d.attachHandleUuid, d.attachHandleType, d.attachHandleInfo, at],
        );
        return;
      }
      case ArqBindFailed.type: {
        const d = event.data as unknown as ArqBindFailedV1;
        await tx.query(
          `UPDATE arqs SET state = 'BindFailed', hostname = $2, device_rp_uuid = $3, instance_uuid = $4,
                           project_id = $5, bind_attempt = $6, bind_failure = $7, bind_deadline = NULL,
                           attach_handle_uuid = CASE WHEN $8::boolean THEN attach_handle_uuid END,
                           attach_handle_type = CASE WHEN $8::boolean THEN attach_handle_type END,
                           attach_handle_info = CASE WHEN $8::boolean THEN attach_handle_info END,
                           updated_at = $9
           WHERE uuid = $1`,
          [
            d.uuid,
            d.hostname,
            d.deviceRpUuid,
            d.instanceUuid,
            d.projectId,
            d.attempt,
            d.reason,
            d.holdsAttachHandle,
            at,
          ],
        );
        return;
      }
      case ArqUnbound.type: {
        const d = event.data as unknown as ArqUnboundV1;
        await tx.query(
          `UPDATE arqs SET state = 'Unbound', hostname = NULL, device_rp_uuid = NULL, instance_uuid = NULL,
                           attach_handle_uuid = NULL, attach_handle_type = NULL, attach_handle_info = NULL,
                           bind_deadline = NULL, updated_at = $2
           WHERE uuid = $1`,
          [d.uuid, at],
        );
        return;
      }
      case ArqDeleted.type: {
        const d = event.data as unknown as ArqDeletedV1;
        await tx.query(`DELETE FROM arqs WHERE uuid = $1`, [d.uuid]);
        return;
      }
    }
  },
};
