import type { Request } from 'express';
import type { ArqView } from '@cyborg/projections';
import { type Link, selfLink } from '../http/links';
import { HEALTH_MICROVERSION, type Microversion } from '../http/microversion';
import { cyborgTimestamp, type DeviceHealthReasonV1 } from '@cyborg/contracts';

/** An ARQ on the wire (Cyborg §5.1); the attach handle shows only once Bound. */
export interface ArqBody {
  uuid: string;
  state: string;
  device_profile_name: string;
  device_profile_group_id: number;
  hostname: string | null;
  device_rp_uuid: string | null;
  instance_uuid: string | null;
  project_id: string | null;
  attach_handle_type: string;
  attach_handle_uuid: string | null;
  attach_handle_info: Record<string, string>;
  created_at: string;
  updated_at: string | null;
  /** From 2.4: the health of the device whose handle the ARQ holds; null when it holds none. */
  device_health?: string | null;
  device_health_reasons?: DeviceHealthReasonV1[];
  links: Link[];
}

const HOLDS_HANDLE = ['BindStarted', 'Bound'];

export function arqBody(request: Request, arq: ArqView, version?: Microversion): ArqBody {
  const bound = arq.state === 'Bound';
  const holds = HOLDS_HANDLE.includes(arq.state) || (arq.state === 'BindFailed' && arq.attachHandleUuid !== null);
  const health =
    version?.atLeast(HEALTH_MICROVERSION) === true
      ? {
          device_health: holds ? (arq.deviceHealth ?? 'healthy') : null,
          device_health_reasons: holds ? arq.deviceHealthReasons : [],
        }
      : {};
  return {
    uuid: arq.uuid,
    state: arq.state,
    device_profile_name: arq.deviceProfileName,
    device_profile_group_id: arq.deviceProfileGroupId,
    hostname: arq.hostname,
    device_rp_uuid: arq.deviceRpUuid,
    instance_uuid: arq.instanceUuid,
    project_id: arq.projectId,
    attach_handle_type: bound ? (arq.attachHandleType ?? '') : '',
    attach_handle_uuid: bound ? arq.attachHandleUuid : null,
    attach_handle_info: bound ? attachInfo(arq.attachHandleInfo) : {},
    created_at: cyborgTimestamp(arq.createdAt),
    updated_at: arq.updatedAt ? cyborgTimestamp(arq.updatedAt) : null,
    ...health,
    links: [selfLink(request, 'accelerator_requests', arq.uuid)],
  };
}

/** The driver's attach info JSON, parsed; Nova reads domain, bus, device, function (and physical_network). */
function attachInfo(text: string | null): Record<string, string> {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
  } catch {
    return {};
  }
}
