import { DomainError } from '../domain-error';
import { parseDeviceProfile, type DeviceProfileInput } from './device-profile.validation';

const fpga = { 'resources:FPGA': '1', 'trait:CUSTOM_FPGA_INTEL': 'required' };
const valid = { name: 'fpga-dp_1', description: 'an FPGA', groups: [fpga] };

function refusal(input: DeviceProfileInput): DomainError {
  const result = parseDeviceProfile(input);
  if (!(result instanceof DomainError)) throw new Error(`accepted: ${JSON.stringify(result)}`);
  return result;
}

describe('a valid device profile', () => {
  it('is accepted as sent, with no uuid of its own', () => {
    expect(parseDeviceProfile(valid)).toEqual({ uuid: null, ...valid });
  });

  it('may have a null or missing description', () => {
    expect(parseDeviceProfile({ ...valid, description: null })).toMatchObject({ description: null });
    expect(parseDeviceProfile({ name: 'x', groups: [fpga] })).toMatchObject({ description: null });
  });

  it('keeps values as strings: numbers become strings, amounts become plain integers', () => {
    const spec = parseDeviceProfile({
      name: 'x',
      groups: [{ 'resources:GPU': 2, 'resources:CUSTOM_MEM': ' +03 ', 'accel:function_id': 7, 'accel:x': 'y' }],
    });
    expect(spec).toMatchObject({
      groups: [{ 'resources:GPU': '2', 'resources:CUSTOM_MEM': '3', 'accel:function_id': '7', 'accel:x': 'y' }],
    });
  });

  it('strips spaces around trait and resource names and rewrites the key, as Cyborg does', () => {
    const spec = parseDeviceProfile({
      name: 'x',
      groups: [{ 'resources: FPGA ': '1', 'trait:  CUSTOM_X': 'forbidden' }],
    });
    expect(spec).toMatchObject({ groups: [{ 'resources:FPGA': '1', 'trait:CUSTOM_X': 'forbidden' }] });
  });

  it('accepts every listed resource class and any CUSTOM_ one, and any accel: key', () => {
    for (const rc of [
      'FPGA',
      'GPU',
      'VGPU',
      'PGPU',
      'CUSTOM_QAT',
      'CUSTOM_NIC',
      'CUSTOM_SSD',
      'CUSTOM_ACCELERATOR_FPGA',
    ]) {
      expect(parseDeviceProfile({ name: 'x', groups: [{ [`resources:${rc}`]: '1' }] })).not.toBeInstanceOf(DomainError);
    }
    expect(parseDeviceProfile({ name: 'x', groups: [{ 'accel:bitstream_id': 'd5ca2f11' }] })).not.toBeInstanceOf(
      DomainError,
    );
  });

  it('takes a client-chosen uuid in any uuid-like spelling and stores it canonical', () => {
    const spec = parseDeviceProfile({ ...valid, uuid: '5518A9251C2C49A2A8BF0927D9456F3E' });
    expect(spec).toMatchObject({ uuid: '5518a925-1c2c-49a2-a8bf-0927d9456f3e' });
  });

  it('accepts a name of exactly 255 characters', () => {
    expect(parseDeviceProfile({ ...valid, name: 'n'.repeat(255) })).not.toBeInstanceOf(DomainError);
  });
});

describe("an invalid device profile is refused with Cyborg's faultstring", () => {
  const cases: [string, DeviceProfileInput, string][] = [
    ['no name', { groups: [fpga] }, 'DeviceProfile name needed.'],
    ['an empty name', { name: '', groups: [fpga] }, 'DeviceProfile name needed.'],
    [
      'a name with a space',
      { name: 'a b', groups: [fpga] },
      'Device profile name must be of the form ^[a-zA-Z0-9-_]+$',
    ],
    [
      'a name that is not a string',
      { name: 42, groups: [fpga] },
      'Device profile name must be of the form ^[a-zA-Z0-9-_]+$',
    ],
    [
      'a name over 255',
      { name: 'n'.repeat(256), groups: [fpga] },
      'Device profile name must be at most 255 characters long.',
    ],
    ['no groups', { name: 'x' }, 'DeviceProfile needs groups field.'],
    ['empty groups', { name: 'x', groups: [] }, 'DeviceProfile needs groups field.'],
    [
      'groups not a list',
      { name: 'x', groups: fpga },
      'Device profile groups must be a list of objects of string values.',
    ],
    [
      'a group not an object',
      { name: 'x', groups: ['resources:FPGA'] },
      'Device profile groups must be a list of objects of string values.',
    ],
    [
      'an unknown key prefix',
      { name: 'x', groups: [{ 'resource:FPGA': '1' }] },
      'Device profile group keys must be of the form ^(resources:|trait:|accel:)',
    ],
    [
      'a leading space before the prefix',
      { name: 'x', groups: [{ ' trait:CUSTOM_X': 'required' }] },
      'Device profile group keys must be of the form ^(resources:|trait:|accel:)',
    ],
    [
      'a trait not CUSTOM_',
      { name: 'x', groups: [{ 'trait:HW_CPU_X86_AVX': 'required' }] },
      'Unsupported trait name format HW_CPU_X86_AVX, should start with CUSTOM_',
    ],
    [
      'a trait value not required/forbidden',
      { name: 'x', groups: [{ 'trait:CUSTOM_X': 'preferred' }] },
      "Unsupported trait value preferred, the value must be one among ['required', 'forbidden']",
    ],
    ['an unknown resource class', { name: 'x', groups: [{ 'resources:NPU': '1' }] }, 'Unsupported resource class NPU'],
    [
      'a resource amount that is not an integer',
      { name: 'x', groups: [{ 'resources:FPGA': 'one' }] },
      'Resources number one is invalid',
    ],
    [
      'a fractional resource amount',
      { name: 'x', groups: [{ 'resources:FPGA': 1.5 }] },
      'Resources number 1.5 is invalid',
    ],
    ['a zero resource amount', { name: 'x', groups: [{ 'resources:FPGA': '0' }] }, 'Resources number 0 is invalid'],
    [
      'a negative resource amount',
      { name: 'x', groups: [{ 'resources:FPGA': '-1' }] },
      'Resources number -1 is invalid',
    ],
    [
      'two keys that are one after normalising',
      { name: 'x', groups: [{ 'resources:FPGA': '1', 'resources: FPGA': '2' }] },
      'Device profile group key resources:FPGA appears more than once in a group.',
    ],
    [
      'an accel value that is an object',
      { name: 'x', groups: [{ 'accel:x': { a: 1 } }] },
      'Device profile group value of accel:x must be a string.',
    ],
    [
      'a description that is a number',
      { ...valid, description: 5 },
      'Device profile description must be a string or null.',
    ],
    ['a uuid that is not uuid-like', { ...valid, uuid: 'not-a-uuid' }, 'Expected a uuid but received not-a-uuid.'],
  ];

  it.each(cases)('%s', (_what, input, message) => {
    const error = refusal(input);
    expect(error.kind).toBe('invalid');
    expect(error.message).toBe(message);
  });

  it("checks in Cyborg's order: name before groups, key prefix before trait names", () => {
    expect(refusal({ name: 'a b' }).message).toBe('Device profile name must be of the form ^[a-zA-Z0-9-_]+$');
    expect(refusal({ name: 'x', groups: [{ 'trait:X': 'bad', 'foo:y': '1' }] }).message).toBe(
      'Unsupported trait name format X, should start with CUSTOM_',
    );
    expect(refusal({ name: 'x', groups: [{ 'foo:y': '1', 'trait:X': 'bad' }] }).message).toBe(
      'Device profile group keys must be of the form ^(resources:|trait:|accel:)',
    );
  });
});
