import type { Request } from 'express';
import { pythonJsonDumps } from '@cyborg/drivers';
import type { DeployableView } from '@cyborg/projections';
import { bookmarkLink, type Link, selfLink } from '../http/links';
import { cyborgTimestamp } from '@cyborg/contracts';

/** A deployable on the wire (Cyborg §8.1); ids are Cyborg's integers. */
export interface DeployableBody {
  uuid: string;
  parent_id: number | null;
  root_id: number | null;
  name: string;
  num_accelerators: number;
  device_id: number | null;
  attributes_list: string;
  rp_uuid: string | null;
  driver_name: string | null;
  bitstream_id: string | null;
  created_at: string;
  updated_at: string | null;
  links: Link[];
}

export function deployableBody(request: Request, deployable: DeployableView): DeployableBody {
  return {
    uuid: deployable.uuid,
    parent_id: deployable.parentId,
    root_id: deployable.rootId,
    name: deployable.name,
    num_accelerators: deployable.numAccelerators,
    device_id: deployable.deviceId,
    attributes_list: attributesList(deployable.attributes),
    rp_uuid: deployable.rpUuid,
    driver_name: deployable.driverName,
    bitstream_id: deployable.bitstreamId,
    created_at: cyborgTimestamp(deployable.createdAt),
    updated_at: deployable.updatedAt ? cyborgTimestamp(deployable.updatedAt) : null,
    links: [selfLink(request, 'deployables', deployable.uuid), bookmarkLink(request, 'deployables', deployable.uuid)],
  };
}

/** Upstream's `jsonutils.dumps([{key: value}, ...])`: Python's separators, one-key objects in order. */
function attributesList(attributes: readonly { key: string; value: string }[]): string {
  return `[${attributes.map((a) => pythonJsonDumps({ [a.key]: a.value })).join(', ')}]`;
}
