import { DomainError } from '../domain-error';

/**
 * Every way a device-profile command is refused. Messages are Cyborg's
 * faultstrings (api-ref and `device_profiles.py`) where Cyborg has one; the
 * rest are ours, for cases where Cyborg fails with a 500.
 */
export const DeviceProfileErrors = {
  nameNeeded: () => invalid('device_profile_name_needed', 'DeviceProfile name needed.'),
  nameFormat: () => invalid('device_profile_name_format', 'Device profile name must be of the form ^[a-zA-Z0-9-_]+$'),
  nameTooLong: (max: number) =>
    invalid('device_profile_name_too_long', `Device profile name must be at most ${max} characters long.`),
  groupsNeeded: () => invalid('device_profile_groups_needed', 'DeviceProfile needs groups field.'),
  groupsFormat: () =>
    invalid('device_profile_groups_format', 'Device profile groups must be a list of objects of string values.'),
  keyFormat: () =>
    invalid(
      'device_profile_group_key_format',
      'Device profile group keys must be of the form ^(resources:|trait:|accel:)',
    ),
  duplicateKey: (key: string) =>
    invalid('device_profile_group_key_duplicate', `Device profile group key ${key} appears more than once in a group.`),
  traitName: (trait: string) =>
    invalid('device_profile_trait_name', `Unsupported trait name format ${trait}, should start with CUSTOM_`),
  traitValue: (value: unknown) =>
    invalid(
      'device_profile_trait_value',
      `Unsupported trait value ${pythonStr(value)}, the value must be one among ['required', 'forbidden']`,
    ),
  resourceClass: (rc: string) => invalid('device_profile_resource_class', `Unsupported resource class ${rc}`),
  resourceAmount: (value: unknown) =>
    invalid('device_profile_resource_amount', `Resources number ${pythonStr(value)} is invalid`),
  valueType: (key: string) =>
    invalid('device_profile_group_value', `Device profile group value of ${key} must be a string.`),
  description: () => invalid('device_profile_description', 'Device profile description must be a string or null.'),
  uuidFormat: (value: unknown) => invalid('invalid_uuid', `Expected a uuid but received ${pythonStr(value)}.`),

  nameTaken: (name: string) =>
    new DomainError('conflict', 'device_profile_name_taken', `A device_profile with name ${name} already exists.`),
  uuidTaken: (uuid: string) =>
    new DomainError('conflict', 'device_profile_uuid_taken', `DeviceProfile with uuid ${uuid} already exists.`),
  inUse: (name: string, arqs: number) =>
    new DomainError(
      'conflict',
      'device_profile_in_use',
      `Device profile ${name} is used by ${arqs} accelerator request(s); delete them first.`,
    ),
  notFoundByUuid: (uuid: string) =>
    new DomainError('not_found', 'device_profile_not_found', `Device Profile not found with uuid=${uuid}`),
  notFoundByName: (name: string) =>
    new DomainError('not_found', 'device_profile_not_found', `Device Profile not found with name=${name}`),
} as const;

function invalid(code: string, message: string): DomainError {
  return new DomainError('invalid', code, message);
}

/** How Python's `%s` shows a JSON value, so quoted values read as Cyborg's do. */
function pythonStr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  return JSON.stringify(value);
}
