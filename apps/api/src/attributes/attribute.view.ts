import type { Request } from 'express';
import type { AttributeView } from '@cyborg/projections';
import { type Link, selfLink } from '../http/links';
import { cyborgTimestamp } from '@cyborg/contracts';

/** An attribute on the wire (Cyborg §9.1). */
export interface AttributeBody {
  uuid: string;
  deployable_id: number | null;
  key: string;
  value: string;
  created_at: string;
  updated_at: string | null;
  links: Link[];
}

export function attributeBody(request: Request, attribute: AttributeView): AttributeBody {
  return {
    uuid: attribute.uuid,
    deployable_id: attribute.deployableId,
    key: attribute.key,
    value: attribute.value,
    created_at: cyborgTimestamp(attribute.createdAt),
    updated_at: attribute.updatedAt ? cyborgTimestamp(attribute.updatedAt) : null,
    links: [selfLink(request, 'attributes', attribute.uuid)],
  };
}
