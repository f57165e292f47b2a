import type { Event } from '../event';
/**
 * Stream `host-<hostname>`: key/value pairs of a deployable (`rc` = resource
 * class, `trait*` = traits). The source says who owns one: the agent's are
 * replaced by its reports; an operator's (`api`) survive them.
 */
export const AttributeAdded = { type: 'AttributeAdded', schemaVersion: 1 } as const;
export const AttributeUpdated = { type: 'AttributeUpdated', schemaVersion: 1 } as const;
export const AttributeRemoved = { type: 'AttributeRemoved', schemaVersion: 1 } as const;

export type AttributeSourceV1 = 'agent' | 'api';

export type AttributeAddedV1 = {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  key: string;
  value: string;
  source: AttributeSourceV1;
};

export type AttributeUpdatedV1 = {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  key: string;
  value: string;
};

export type AttributeRemovedV1 = {
  hostname: string;
  uuid: string;
  deployableUuid: string;
  key: string;
};

export type AttributeAdded = Event<typeof AttributeAdded.type, AttributeAddedV1>;
export type AttributeUpdated = Event<typeof AttributeUpdated.type, AttributeUpdatedV1>;
export type AttributeRemoved = Event<typeof AttributeRemoved.type, AttributeRemovedV1>;
