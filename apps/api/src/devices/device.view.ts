import type { Request } from 'express';
import type { DeviceView } from '@cyborg/projections';
import { type Link, selfLink } from '../http/links';
import type { Microversion } from '../http/microversion';
import { cyborgTimestamp } from '@cyborg/contracts';

/** A device on the wire (Cyborg §7.1); `status` only from microversion 2.3. */
export interface DeviceBody {
  uuid: string;
  type: string;
  vendor: string;
  model: string;
  std_board_info: string | null;
  vendor_board_info: string | null;
  hostname: string;
  status?: string;
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
    created_at: cyborgTimestamp(device.createdAt),
    updated_at: device.updatedAt ? cyborgTimestamp(device.updatedAt) : null,
    links: [selfLink(request, 'devices', device.uuid)],
  };
}
