import type { Request } from 'express';
import type { DeviceView } from '@cyborg/projections';
import { type Link, selfLink } from '../http/links';
import { HEALTH_MICROVERSION, type Microversion } from '../http/microversion';
import { cyborgTimestamp, type DeviceHealthReasonV1 } from '@cyborg/contracts';

/** A device on the wire (Cyborg §7.1); `status` only from microversion 2.3, health from 2.4. */
export interface DeviceBody {
  uuid: string;
  type: string;
  vendor: string;
  model: string;
  std_board_info: string | null;
  vendor_board_info: string | null;
  hostname: string;
  status?: string;
  /** `healthy`, `degraded` (still schedulable) or `unhealthy` (takes no new binds). */
  health?: string;
  health_reasons?: DeviceHealthReasonV1[];
  /** Takes no new binds: unhealthy, or recovered under a sticky fence until released. */
  fenced?: boolean;
  created_at: string;
  updated_at: string | null;
  links: Link[];
}

export function deviceBody(request: Request, version: Microversion, device: DeviceView): DeviceBody {
  return {
    uuid: device.uuid,
    type: device.type,
    vendor: device.vendor,
    model: device.model,
    std_board_info: device.stdBoardInfo,
    vendor_board_info: device.vendorBoardInfo,
    hostname: device.hostname,
    ...(version.atLeast(3) ? { status: device.status } : {}),
    ...(version.atLeast(HEALTH_MICROVERSION)
      ? { health: device.health, health_reasons: device.healthReasons, fenced: device.fenced }
      : {}),
    created_at: cyborgTimestamp(device.createdAt),
    updated_at: device.updatedAt ? cyborgTimestamp(device.updatedAt) : null,
    links: [selfLink(request, 'devices', device.uuid)],
  };
}
