import type { Request } from 'express';
import type { DeviceProfileGroup } from '@cyborg/contracts';
import type { DeviceProfileView } from '@cyborg/projections';
import { type Link, selfLink } from '../http/links';
import { cyborgTimestamp } from '@cyborg/contracts';

/** A device profile on the wire (Cyborg §4.1). */
export interface DeviceProfileBody {
  uuid: string;
  name: string;
  description: string | null;
  groups: DeviceProfileGroup[];
  created_at: string;
  updated_at: string | null;
  links: Link[];
}

export function deviceProfileBody(request: Request, profile: DeviceProfileView): DeviceProfileBody {
  return {
    uuid: profile.uuid,
    name: profile.name,
    description: profile.description,
    groups: profile.groups,
    created_at: cyborgTimestamp(profile.createdAt),
    updated_at: profile.updatedAt ? cyborgTimestamp(profile.updatedAt) : null,
    links: [selfLink(request, 'device_profiles', profile.uuid)],
  };
}
