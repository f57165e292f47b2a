import {
  DeviceProfileCreated,
  type DeviceProfileCreatedV1,
  DeviceProfileDeleted,
  type DeviceProfileDeletedV1,
  type DeviceProfileGroup,
  DeviceProfileNameClaimed,
  type DeviceProfileNameClaimedV1,
  DeviceProfileNameReleased,
  type DeviceProfileNameReleasedV1,
} from '@cyborg/contracts';
import type { DomainError } from '../domain-error';
import type { CyborgEvent, DeviceProfileEvent, DeviceProfileNameEvent } from '@cyborg/contracts';
import { DeviceProfileErrors as Errors } from './device-profile.errors';
import type { DeviceProfileSpec } from './device-profile.validation';

export interface DeviceProfile {
  uuid: string;
  name: string;
  description: string | null;
  groups: DeviceProfileGroup[];
  createdAt: string;
}

/** Stream `device_profile-<uuid>`, folded. A deleted uuid may be used again, as in Cyborg. */
export interface DeviceProfileState {
  profile: DeviceProfile | null;
  /**
   * ARQs that hold a group of this profile. ARQs copy their group when they
   * are created, so deleting a profile never reaches them and nothing adds
   * here: creating ARQs does not contend on the profile's stream. Delete
   * still refuses a profile listed here, should a rule ever need it.
   */
  usedBy: readonly string[];
}

export const initialDeviceProfileState: DeviceProfileState = { profile: null, usedBy: [] };

export function evolveDeviceProfile(state: DeviceProfileState, event: CyborgEvent): DeviceProfileState {
  switch (event.type) {
    case DeviceProfileCreated.type: {
      const data = event.data;
      const profile = {
        uuid: data.uuid,
        name: data.name,
        description: data.description,
        groups: data.groups,
        createdAt: data.createdAt,
      };
      return { ...state, profile };
    }
    case DeviceProfileDeleted.type:
      return { ...state, profile: null };
    default:
      return state;
  }
}

/** Stream `device_profile_name-<name>`, folded: the uuid of the profile holding the name, if any. */
export interface DeviceProfileNameState {
  holder: string | null;
}

export const initialDeviceProfileNameState: DeviceProfileNameState = { holder: null };

export function evolveDeviceProfileName(state: DeviceProfileNameState, event: CyborgEvent): DeviceProfileNameState {
  switch (event.type) {
    case DeviceProfileNameClaimed.type:
      return { holder: event.data.uuid };
    case DeviceProfileNameReleased.type:
      return { holder: null };
    default:
      return state;
  }
}

/** A decision touches two streams, appended together in one transaction. */
export interface DeviceProfileDecision {
  /** The profile: its events go to `device_profile-<uuid>`. */
  uuid: string;
  profileEvents: DeviceProfileEvent[];
  /** Its name: these events go to `device_profile_name-<name>`. */
  name: string;
  nameEvents: DeviceProfileNameEvent[];
}

export interface CreateDeviceProfile {
  spec: DeviceProfileSpec;
  /** The spec's uuid, or one the conductor chose. */
  uuid: string;
  /** ISO 8601; the conductor's clock, passed in so this stays pure. */
  now: string;
}

/** A name has one holder at a time and a live uuid is never created twice. */
export function decideCreateDeviceProfile(
  command: CreateDeviceProfile,
  profile: DeviceProfileState,
  name: DeviceProfileNameState,
): DeviceProfileDecision | DomainError {
  const { spec, uuid } = command;
  if (name.holder !== null) return Errors.nameTaken(spec.name);
  if (profile.profile !== null) return Errors.uuidTaken(uuid);
  const created: DeviceProfileCreatedV1 = {
    uuid,
    name: spec.name,
    description: spec.description,
    groups: spec.groups,
    createdAt: command.now,
  };
  const claimed: DeviceProfileNameClaimedV1 = { name: spec.name, uuid };
  return {
    uuid,
    profileEvents: [{ type: DeviceProfileCreated.type, data: { ...created } }],
    name: spec.name,
    nameEvents: [{ type: DeviceProfileNameClaimed.type, data: { ...claimed } }],
  };
}

export interface DeleteDeviceProfile {
  /** As the caller named the profile; Cyborg's 404 repeats it. */
  value: string;
  by: 'uuid' | 'name';
}

/** Deleting releases the name, so a later create may take it. */
export function decideDeleteDeviceProfile(
  command: DeleteDeviceProfile,
  profile: DeviceProfileState,
  name: DeviceProfileNameState,
): DeviceProfileDecision | DomainError {
  const current = profile.profile;
  if (current === null) {
    return command.by === 'uuid' ? Errors.notFoundByUuid(command.value) : Errors.notFoundByName(command.value);
  }
  if (profile.usedBy.length > 0) return Errors.inUse(current.name, profile.usedBy.length);
  const deleted: DeviceProfileDeletedV1 = { uuid: current.uuid, name: current.name };
  const released: DeviceProfileNameReleasedV1 = { name: current.name, uuid: current.uuid };
  return {
    uuid: current.uuid,
    profileEvents: [{ type: DeviceProfileDeleted.type, data: { ...deleted } }],
    name: current.name,
    nameEvents: name.holder === current.uuid ? [{ type: DeviceProfileNameReleased.type, data: { ...released } }] : [],
  };
}
