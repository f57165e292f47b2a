/**
 * Stream `host-<hostname>`: key/value pairs of a deployable (`rc` = resource
 * class, `trait*` = traits). The source says who owns one: the agent's are
 * replaced by its reports; an operator's (`api`) survive them.
 */
export const AttributeAdded = { type: 'AttributeAdded', schemaVersion: 1 } as const;
export const AttributeUpdated = { type: 'AttributeUpdated', schemaVersion: 1 } as const;
export const AttributeRemoved = { type: 'AttributeRemoved', schemaVersion: 1 } as const;

export type AttributeSourceV1 = 'agent' | 'api';

export interface AttributeAddedV1 {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  key: string;
  value: string;
  source: AttributeSourceV1;
}

export interface AttributeUpdatedV1 {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  key: string;
  value: string;
}

export interface AttributeRemovedV1 {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  key: string;
}
