import type { Event } from '../event';
/**
 * Stream `host-<hostname>`: the schedulable units of a device, each one
 * Placement resource provider, identified by name. `parentUuid`/`rootUuid`
 * make the device → PF → VF tree.
 */
export const DeployableAdded = { type: 'DeployableAdded', schemaVersion: 1 } as const;
export const DeployableUpdated = { type: 'DeployableUpdated', schemaVersion: 1 } as const;
/** The deployable vanished while an attach handle under it is in use: kept until released. */
export const DeployableDraining = { type: 'DeployableDraining', schemaVersion: 1 } as const;
export const DeployableRemoved = { type: 'DeployableRemoved', schemaVersion: 1 } as const;

export type DeployableAddedV1 = {
  hostname: string;
  uuid: string;
  deviceUuid: string;
  /** Unique across hosts; it names the resource provider. */
  name: string;
  /** Null for a top-level deployable. */
  parentUuid: string | null;
  /** The top of the deployable's tree; null for a top-level deployable. */
  rootUuid: string | null;
  /** uuid3(DNS namespace, name), as upstream, so Nova's flavors and Placement agree. */
  rpUuid: string;
  numAccelerators: number;
  driverName: string;
};

/** The deployable as now reported (all fields); a draining one reported again stops draining. */
export type DeployableUpdatedV1 = DeployableAddedV1;

export type DeployableDrainingV1 = {
  hostname: string;
  uuid: string;
  name: string;
};

export type DeployableRemovedV1 = {
  hostname: string;
  uuid: string;
  name: string;
  deviceUuid: string;
};

export type DeployableAdded = Event<typeof DeployableAdded.type, DeployableAddedV1>;
export type DeployableUpdated = Event<typeof DeployableUpdated.type, DeployableUpdatedV1>;
export type DeployableDraining = Event<typeof DeployableDraining.type, DeployableDrainingV1>;
export type DeployableRemoved = Event<typeof DeployableRemoved.type, DeployableRemovedV1>;
