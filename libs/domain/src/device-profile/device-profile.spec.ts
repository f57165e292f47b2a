import { DomainError } from '../domain-error';
import { type DomainEvent, fold } from '../domain-event';
import {
  decideCreateDeviceProfile,
  decideDeleteDeviceProfile,
  type DeviceProfileDecision,
  type DeviceProfileState,
  evolveDeviceProfile,
  evolveDeviceProfileName,
  initialDeviceProfileNameState,
  initialDeviceProfileState,
} from './device-profile';
import type { DeviceProfileSpec } from './device-profile.validation';

const uuid = '5518a925-1c2c-49a2-a8bf-0927d9456f3e';
const other = '0b5c2c3e-8d51-4f0e-9d0e-3c3f6b1a2d4e';
const now = '2026-07-21T10:00:00.123Z';
const spec: DeviceProfileSpec = {
  uuid: null,
  name: 'fpga-dp1',
  description: null,
  groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_FPGA_INTEL': 'required' }],
};

const created = (u = uuid, name = spec.name): DomainEvent => ({
  type: 'DeviceProfileCreated',
  data: { uuid: u, name, description: null, groups: spec.groups, createdAt: now },
});
const deleted = (u = uuid, name = spec.name): DomainEvent => ({
  type: 'DeviceProfileDeleted',
  data: { uuid: u, name },
});
const claimed = (u = uuid, name = spec.name): DomainEvent => ({
  type: 'DeviceProfileNameClaimed',
  data: { name, uuid: u },
});
const released = (u = uuid, name = spec.name): DomainEvent => ({
  type: 'DeviceProfileNameReleased',
  data: { name, uuid: u },
});

/** Given the events of the profile stream and of the name stream. */
function given(profileEvents: DomainEvent[], nameEvents: DomainEvent[]) {
  return {
    profile: fold(profileEvents, evolveDeviceProfile, initialDeviceProfileState),
    name: fold(nameEvents, evolveDeviceProfileName, initialDeviceProfileNameState),
  };
}

function decided(result: DeviceProfileDecision | DomainError): DeviceProfileDecision {
  if (result instanceof DomainError) throw new Error(`refused: ${result.message}`);
  return result;
}

describe('creating a device profile', () => {
  it('records the profile on its stream and claims its name, in one decision', () => {
    const { profile, name } = given([], []);
    expect(decideCreateDeviceProfile({ spec, uuid, now }, profile, name)).toEqual({
      uuid,
      profileEvents: [created()],
      name: 'fpga-dp1',
      nameEvents: [claimed()],
    });
  });

  it("refuses a name another live profile holds, with Cyborg's 409 message", () => {
    const { profile, name } = given([], [claimed(other)]);
    const error = decideCreateDeviceProfile({ spec, uuid, now }, profile, name);
    expect(error).toEqual(
      new DomainError('conflict', 'device_profile_name_taken', 'A device_profile with name fpga-dp1 already exists.'),
    );
  });

  it('takes a name again once its profile was deleted', () => {
    const { profile, name } = given([], [claimed(other), released(other)]);
    expect(decided(decideCreateDeviceProfile({ spec, uuid, now }, profile, name)).nameEvents).toEqual([claimed()]);
  });

  it("refuses a client-chosen uuid that a live profile has (a conflict, not Cyborg's 500)", () => {
    const { profile, name } = given([created(uuid, 'older')], []);
    const error = decideCreateDeviceProfile({ spec, uuid, now }, profile, name);
    expect(error).toMatchObject({ kind: 'conflict', message: `DeviceProfile with uuid ${uuid} already exists.` });
  });

  it("lets a deleted profile's uuid be used again, as Cyborg does", () => {
    const { profile, name } = given([created(uuid, 'older'), deleted(uuid, 'older')], []);
    expect(decided(decideCreateDeviceProfile({ spec, uuid, now }, profile, name)).profileEvents).toEqual([created()]);
  });
});

describe('deleting a device profile', () => {
  it('records the deletion and releases the name', () => {
    const { profile, name } = given([created()], [claimed()]);
    expect(decideDeleteDeviceProfile({ value: uuid, by: 'uuid' }, profile, name)).toEqual({
      uuid,
      profileEvents: [deleted()],
      name: 'fpga-dp1',
      nameEvents: [released()],
    });
  });

  it("answers 404 in Cyborg's words, naming what the caller asked for", () => {
    const { profile, name } = given([], []);
    expect(decideDeleteDeviceProfile({ value: 'gone', by: 'name' }, profile, name)).toMatchObject({
      kind: 'not_found',
      message: 'Device Profile not found with name=gone',
    });
    expect(decideDeleteDeviceProfile({ value: uuid, by: 'uuid' }, profile, name)).toMatchObject({
      kind: 'not_found',
      message: `Device Profile not found with uuid=${uuid}`,
    });
  });

  it('cannot delete a profile twice', () => {
    const { profile, name } = given([created(), deleted()], [claimed(), released()]);
    expect(decideDeleteDeviceProfile({ value: uuid, by: 'uuid' }, profile, name)).toMatchObject({ kind: 'not_found' });
  });

  it('refuses a profile that accelerator requests still use (409, where Cyborg fails with 500)', () => {
    const { name } = given([], [claimed()]);
    const inUse: DeviceProfileState = { ...given([created()], []).profile, usedBy: ['arq-1', 'arq-2'] };
    expect(decideDeleteDeviceProfile({ value: spec.name, by: 'name' }, inUse, name)).toMatchObject({
      kind: 'conflict',
      code: 'device_profile_in_use',
    });
  });
});

describe('folding the streams', () => {
  it('shows the live profile and who holds a name', () => {
    const { profile, name } = given([created()], [claimed()]);
    expect(profile.profile).toEqual({ uuid, name: 'fpga-dp1', description: null, groups: spec.groups, createdAt: now });
    expect(name.holder).toBe(uuid);
    const after = given([created(), deleted()], [claimed(), released()]);
    expect(after.profile.profile).toBeNull();
    expect(after.name.holder).toBeNull();
  });
});
