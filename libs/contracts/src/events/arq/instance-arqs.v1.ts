import type { Event } from '../event';

/**
 * Stream `instance-<uuid>`: the ARQs bound to one instance (Nova's server).
 * Written in the same append as their binds and releases, so "the instance
 * already has accelerator requests" is decided from the log at a known
 * version: two concurrent binds of other ARQs to one instance cannot both
 * pass.
 */
export const InstanceArqsBound = { type: 'InstanceArqsBound', schemaVersion: 1 } as const;
export const InstanceArqsReleased = { type: 'InstanceArqsReleased', schemaVersion: 1 } as const;

export type InstanceArqsBoundV1 = {
  instanceUuid: string;
  /** The ARQs this bind gave the instance, in the request's order. */
  arqUuids: string[];
};

/** Unbind or delete: these ARQs no longer belong to the instance. */
export type InstanceArqsReleasedV1 = InstanceArqsBoundV1;

export type InstanceArqsBound = Event<typeof InstanceArqsBound.type, InstanceArqsBoundV1>;
export type InstanceArqsReleased = Event<typeof InstanceArqsReleased.type, InstanceArqsReleasedV1>;
