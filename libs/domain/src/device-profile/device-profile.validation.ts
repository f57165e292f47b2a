import type { DeviceProfileGroup } from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import { canonicalUuid } from '../uuid';
import { DeviceProfileErrors as Errors } from './device-profile.errors';

/** A device profile as a client sent it: nothing is trusted yet. */
export interface DeviceProfileInput {
  uuid?: unknown;
  name?: unknown;
  description?: unknown;
  groups?: unknown;
}

/** A device profile that passed every Cyborg rule, in its stored (normalised) form. */
export interface DeviceProfileSpec {
  /** Canonical lowercase uuid when the client chose one. */
  uuid: string | null;
  name: string;
  description: string | null;
  groups: DeviceProfileGroup[];
}

export const DEVICE_PROFILE_NAME = /^[a-zA-Z0-9-_]+$/;
/** Cyborg's `name` column is VARCHAR(255). */
export const DEVICE_PROFILE_NAME_MAX = 255;
/** Cyborg's `constants.SUPPORT_RESOURCES`; any `CUSTOM_*` class is accepted too. */
export const SUPPORTED_RESOURCE_CLASSES: readonly string[] = [
  'FPGA',
  'GPU',
  'VGPU',
  'PGPU',
  'CUSTOM_QAT',
  'CUSTOM_NIC',
  'CUSTOM_SSD',
];
const TRAIT_VALUES: readonly string[] = ['required', 'forbidden'];
const KEY_PREFIX = /^(resources|trait|accel):/;

/**
 * Cyborg's `_validate_post_request`, rule for rule and in its order, with
 * the same faultstrings. Where Cyborg lets bad input through to a 500 or to
 * Placement (a non-string name, a group that is not an object, amount 0),
 * this refuses it with a 400 instead.
 */
export function parseDeviceProfile(input: DeviceProfileInput): DeviceProfileSpec | DomainError {
  const { name } = input;
  // Python's `if not name`: absent, null, "" (and other falsy values) all mean "no name".
  if (name === undefined || name === null || name === '' || name === false || name === 0) return Errors.nameNeeded();
  if (typeof name !== 'string' || !DEVICE_PROFILE_NAME.test(name)) return Errors.nameFormat();
  if (name.length > DEVICE_PROFILE_NAME_MAX) return Errors.nameTooLong(DEVICE_PROFILE_NAME_MAX);

  const { groups } = input;
  if (groups === undefined || groups === null || (Array.isArray(groups) && groups.length === 0)) {
    return Errors.groupsNeeded();
  }
  if (!Array.isArray(groups)) return Errors.groupsFormat();
  const normalised: DeviceProfileGroup[] = [];
  for (const group of groups) {
    const result = parseGroup(group);
    if (result instanceof DomainError) return result;
    normalised.push(result);
  }

  const { description } = input;
  if (description !== undefined && description !== null && typeof description !== 'string') {
    return Errors.description();
  }

  let uuid: string | null = null;
  if (input.uuid !== undefined && input.uuid !== null) {
    uuid = typeof input.uuid === 'string' ? canonicalUuid(input.uuid) : null;
    if (!uuid) return Errors.uuidFormat(input.uuid);
  }
  return { uuid, name, description: description ?? null, groups: normalised };
}

function parseGroup(group: unknown): DeviceProfileGroup | DomainError {
  if (typeof group !== 'object' || group === null || Array.isArray(group)) return Errors.groupsFormat();
  const out: DeviceProfileGroup = {};
  for (const [key, value] of Object.entries(group as Record<string, unknown>)) {
    if (!KEY_PREFIX.test(key)) return Errors.keyFormat();
    let entry: [string, string] | DomainError;
    if (key.startsWith('trait:')) entry = parseTrait(key, value);
    else if (key.startsWith('resources:')) entry = parseResource(key, value);
    else entry = parseAccel(key, value);
    if (entry instanceof DomainError) return entry;
    const [normalisedKey, normalisedValue] = entry;
    if (Object.hasOwn(out, normalisedKey)) return Errors.duplicateKey(normalisedKey);
    out[normalisedKey] = normalisedValue;
  }
  return out;
}

/** `trait: CUSTOM_X ` → `trait:CUSTOM_X`, as Cyborg rewrites the key (spaces only, like Python's strip(" ")). */
function parseTrait(key: string, value: unknown): [string, string] | DomainError {
  const trait = stripSpaces(afterFirstColon(key));
  if (!trait.startsWith('CUSTOM_')) return Errors.traitName(trait);
  if (typeof value !== 'string' || !TRAIT_VALUES.includes(value)) return Errors.traitValue(value);
  return [`trait:${trait}`, value];
}

function parseResource(key: string, value: unknown): [string, string] | DomainError {
  const rc = stripSpaces(afterFirstColon(key));
  if (!SUPPORTED_RESOURCE_CLASSES.includes(rc) && !rc.startsWith('CUSTOM_')) return Errors.resourceClass(rc);
  const amount = resourceAmount(value);
  if (amount === null) return Errors.resourceAmount(value);
  return [`resources:${rc}`, amount];
}

/** Cyborg accepts whatever Python's int() parses; Placement only takes positive amounts, so we ask for those. */
function resourceAmount(value: unknown): string | null {
  let digits: string;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return null;
    digits = String(value);
  } else if (typeof value === 'string' && /^\s*\+?\d+\s*$/.test(value)) {
    digits = value.trim().replace(/^\+/, '');
  } else {
    return null;
  }
  const amount = BigInt(digits);
  return amount > 0n ? amount.toString() : null;
}

/** Any `accel:*` key is Cyborg's own business; values are kept as strings (numbers become strings, as in Cyborg). */
function parseAccel(key: string, value: unknown): [string, string] | DomainError {
  if (typeof value === 'string') return [key, value];
  if (typeof value === 'number' && Number.isFinite(value)) return [key, String(value)];
  return Errors.valueType(key);
}

function afterFirstColon(key: string): string {
  return key.slice(key.indexOf(':') + 1);
}

function stripSpaces(text: string): string {
  return text.replace(/^ +| +$/g, '');
}
