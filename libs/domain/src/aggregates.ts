import { type ArqState, evolveArq, initialArqState } from './arq/arq.state';
import {
  type DeviceProfileNameState,
  type DeviceProfileState,
  evolveDeviceProfile,
  evolveDeviceProfileName,
  initialDeviceProfileNameState,
  initialDeviceProfileState,
} from './device-profile/device-profile';
import { evolveHost, type HostState, initialHostState } from './host/host';
import { evolveInstance, initialInstanceState, type InstanceState } from './instance/instance';
import { evolveQuota, initialQuotaState, type QuotaState } from './quota/quota';
import type { DomainEvent } from './domain-event';

/** A stream kind as the command handler loads it: the state before any event, and how each event changes it. */
export interface Aggregate<S> {
  initial: S;
  evolve: (state: S, event: DomainEvent) => S;
  /** How many folded states a conductor keeps. */
  cached?: number;
}

/** `arq-<uuid>` */
export const ArqAggregate: Aggregate<ArqState> = { initial: initialArqState, evolve: evolveArq };
/** `host-<hostname>`: large states, fewer kept. */
export const HostAggregate: Aggregate<HostState> = { initial: initialHostState, evolve: evolveHost, cached: 1000 };
/** `instance-<uuid>` */
export const InstanceAggregate: Aggregate<InstanceState> = { initial: initialInstanceState, evolve: evolveInstance };
/** `device_profile-<uuid>` */
export const DeviceProfileAggregate: Aggregate<DeviceProfileState> = {
  initial: initialDeviceProfileState,
  evolve: evolveDeviceProfile,
};
/** `device_profile_name-<name>` */
export const DeviceProfileNameAggregate: Aggregate<DeviceProfileNameState> = {
  initial: initialDeviceProfileNameState,
  evolve: evolveDeviceProfileName,
};
/** `quota-<project>` */
export const QuotaAggregate: Aggregate<QuotaState> = { initial: initialQuotaState, evolve: evolveQuota };
