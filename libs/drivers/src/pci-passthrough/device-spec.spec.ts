import { parsePciAddress, type PciAddress } from '../pci';
import { firstMatch, parsePciDeviceSpecs, specMatches, type PciDeviceSpec, type SpecHost } from './device-spec';

const addr = (text: string): PciAddress => parsePciAddress(text)!;

function specs(json: unknown): PciDeviceSpec[] {
  const parsed = parsePciDeviceSpecs(JSON.stringify(json));
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.specs;
}

function errors(text: string): string[] {
  const parsed = parsePciDeviceSpecs(text);
  return parsed.ok ? [] : parsed.errors;
}

/** A host with one SR-IOV PF (0000:18:00.0, interface ens1f0) and a plain NIC (0000:18:00.1, ens1f1). */
const host: SpecHost = {
  isPhysicalFunction: (a) => a.bus === '18' && a.device === '00' && a.function === '0',
  functionOfNetdev: (name) =>
    ({ ens1f0: addr('0000:18:00.0'), ens1f1: addr('0000:18:00.1'), ens1f0v2: addr('0000:18:02.2') })[name] ?? null,
};

const fn = (address: string, vendor = '8086', product = '154c', parent: string | null = null) => ({
  address: addr(address),
  vendor,
  product,
  parent: parent === null ? null : addr(parent),
});

const matches = (spec: PciDeviceSpec, candidate: ReturnType<typeof fn>) => specMatches(spec, candidate, host);

describe("Nova's device_spec address globs", () => {
  it('match field by field, * matching anything', () => {
    const [spec] = specs({ address: '0000:5e:*.*' });
    expect(matches(spec, fn('0000:5e:00.1'))).toBe(true);
    expect(matches(spec, fn('0000:5e:1f.7'))).toBe(true);
    expect(matches(spec, fn('0000:5f:00.0'))).toBe(false);
    expect(matches(spec, fn('0001:5e:00.0'))).toBe(false);
  });

  it('fill left-out leading fields and empty fields with *, and read hex however it is written', () => {
    const [busSlot] = specs({ address: ':5e:00.' });
    expect(matches(busSlot, fn('0003:5e:00.6'))).toBe(true);
    expect(matches(busSlot, fn('0003:5e:01.0'))).toBe(false);
    const [short] = specs({ address: '5E:0.1' });
    expect(matches(short, fn('0000:5e:00.1'))).toBe(true);
    expect(matches(short, fn('0000:5e:00.2'))).toBe(false);
    const [prefixed] = specs({ address: '0x0000:0x5e:0x2.0x3' });
    expect(matches(prefixed, fn('0000:5e:02.3'))).toBe(true);
    const [all] = specs({});
    expect(matches(all, fn('abcd:ef:1f.7'))).toBe(true);
  });

  it('refuse what Nova refuses, naming the entry', () => {
    expect(errors('[{"address": "0000:5e:zz.0"}]')).toEqual([
      '[0]: address: slot "zz" in "0000:5e:zz.0" is neither * nor a hex number',
    ]);
    expect(errors('[{}, {"address": "0:0:0:0.0"}]')[0]).toMatch(/^\[1\]: address: .*more than domain:bus:slot/);
    expect(errors('{"address": "0000:5e:00.8"}')[0]).toMatch(/function "8" .* is above 7/);
    expect(errors('{"address": "0000:5e:20.0"}')[0]).toMatch(/slot "20" .* is above 1f/);
    expect(errors('{"address": "0000:5e:00.0", "devname": "ens1f0"}')).toEqual([
      '[0]: address and devname cannot be combined (as in Nova)',
    ]);
    expect(errors('{"address": 5}')[0]).toMatch(/expected a string like "0000:5e:\*\.\*"/);
  });
});

describe("Nova's device_spec address regexes", () => {
  it('match each field from its start, as Python re.match does', () => {
    const [spec] = specs({ address: { domain: '.*', bus: '5e', slot: '0[0-3]', function: '[1-7]' } });
    expect(matches(spec, fn('0000:5e:02.3'))).toBe(true);
    expect(matches(spec, fn('0000:5e:04.1'))).toBe(false);
    expect(matches(spec, fn('0000:5e:02.0'))).toBe(false);
    const [prefix] = specs({ address: { bus: '5' } });
    expect(matches(prefix, fn('0000:5e:00.0'))).toBe(true);
    expect(matches(prefix, fn('0000:e5:00.0'))).toBe(false);
  });

  it('refuse unknown fields and broken expressions', () => {
    expect(errors('{"address": {"bus": "5e", "device": "00"}}')[0]).toMatch(/unknown field device/);
    expect(errors('{"address": {"bus": "5[e"}}')[0]).toMatch(/bus "5\[e" is not a regular expression/);
  });
});

describe('vendor, product and interface names', () => {
  it('match vendor and product ids whatever their case or 0x', () => {
    const [nvidia] = specs({ vendor_id: '0x10DE' });
    expect(matches(nvidia, fn('0000:af:00.0', '10de', '1eb8'))).toBe(true);
    expect(matches(nvidia, fn('0000:18:00.0', '8086', '158b'))).toBe(false);
    const [vf] = specs({ vendor_id: '8086', product_id: '154c' });
    expect(matches(vf, fn('0000:18:02.0', '8086', '154c', '0000:18:00.0'))).toBe(true);
    expect(matches(vf, fn('0000:18:00.0', '8086', '158b'))).toBe(false);
    expect(errors('{"vendor_id": "nvidia"}')[0]).toMatch(/vendor_id "nvidia" is not a hex id/);
  });

  it('let the address of an SR-IOV PF stand for its VFs, as Nova does', () => {
    const [pfSpec] = specs({ address: '0000:18:00.0' });
    expect(matches(pfSpec, fn('0000:18:00.0', '8086', '158b'))).toBe(true);
    expect(matches(pfSpec, fn('0000:18:02.3', '8086', '154c', '0000:18:00.0'))).toBe(true);
    // A glob is not one address: it names only what it matches.
    const [glob] = specs({ address: '0000:18:00.*' });
    expect(matches(glob, fn('0000:18:02.3', '8086', '154c', '0000:18:00.0'))).toBe(false);
    const [regexPf] = specs({ address: { domain: '0000', bus: '18', slot: '00', function: '0' } });
    expect(matches(regexPf, fn('0000:18:02.1', '8086', '154c', '0000:18:00.0'))).toBe(true);
  });

  it("match a PF's interface name with the PF and its VFs, a VF's only with that VF", () => {
    const [pfName] = specs({ devname: 'ens1f0' });
    expect(matches(pfName, fn('0000:18:00.0', '8086', '158b'))).toBe(true);
    expect(matches(pfName, fn('0000:18:02.0', '8086', '154c', '0000:18:00.0'))).toBe(true);
    expect(matches(pfName, fn('0000:18:00.1', '8086', '158b'))).toBe(false);
    const [vfName] = specs({ devname: 'ens1f0v2' });
    expect(matches(vfName, fn('0000:18:02.2', '8086', '154c', '0000:18:00.0'))).toBe(true);
    expect(matches(vfName, fn('0000:18:02.1', '8086', '154c', '0000:18:00.0'))).toBe(false);
    const [gone] = specs({ devname: 'eth9' });
    expect(matches(gone, fn('0000:18:00.0', '8086', '158b'))).toBe(false);
  });
});

describe('tags and the list as a whole', () => {
  it('normalise resource classes and traits the way Placement takes them', () => {
    const [spec] = specs({
      address: '0000:af:00.0',
      physical_network: 'physnet1',
      resource_class: 'gpu-t4',
      traits: 'CUSTOM_T4, owner video,HW_GPU_API_VULKAN',
      device_type: 'GPU',
      trusted: 'true',
    });
    expect(spec).toMatchObject({
      physicalNetwork: 'physnet1',
      resourceClass: 'CUSTOM_GPU_T4',
      traits: ['CUSTOM_T4', 'CUSTOM_OWNER_VIDEO', 'HW_GPU_API_VULKAN'],
      deviceType: 'GPU',
    });
    expect(specs({ resource_class: 'PGPU', traits: ['CUSTOM_A'] })[0]).toMatchObject({
      resourceClass: 'PGPU',
      traits: ['CUSTOM_A'],
    });
  });

  it('takes the tags of the first spec that matches', () => {
    const list = specs([
      { vendor_id: '8086', product_id: '154c', physical_network: 'physnet1' },
      { address: '0000:18:*.*', physical_network: 'physnet2' },
    ]);
    expect(firstMatch(list, fn('0000:18:02.0', '8086', '154c', '0000:18:00.0'), host)?.physicalNetwork).toBe(
      'physnet1',
    );
    expect(firstMatch(list, fn('0000:18:00.1', '8086', '158b'), host)?.physicalNetwork).toBe('physnet2');
    expect(firstMatch(list, fn('0000:5e:00.0', '10de', '1eb8'), host)).toBeNull();
  });

  it('offers nothing when empty, and refuses typos that would offer everything', () => {
    expect(parsePciDeviceSpecs('')).toEqual({ ok: true, specs: [] });
    expect(parsePciDeviceSpecs('[]')).toEqual({ ok: true, specs: [] });
    expect(errors('[{"vendor": "10de"}]')[0]).toMatch(/^\[0\]: unknown key "vendor" \(known: address, vendor_id/);
    expect(errors('[{"vendor_id": "10de"')[0]).toMatch(/^not valid JSON/);
    expect(errors('["0000:5e:00.0"]')[0]).toMatch(/expected an object/);
    expect(errors('{"device_type": "TPU"}')[0]).toMatch(/device_type must be one of GPU, FPGA/);
    expect(errors('{"traits": 5}')[0]).toMatch(/traits must be a comma-separated string/);
  });
});
