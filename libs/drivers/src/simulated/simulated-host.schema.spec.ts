import { readFile } from 'node:fs/promises';
import { parseSimulatedHost } from './simulated-host.schema';

const EXAMPLE = new URL('../../../../deploy/simulated-host.yaml', import.meta.url);

const gpu = (extra = '') => `
  - id: gpu0
    type: GPU
    vendor: "10de"
    product: "20b5"
    model: A100
    pci: "0000:3b:00.0"${extra}
    deployables:
      - id: gpu
        rc: PGPU
        handles: { type: PCI }
`;

describe('parsing a simulated host file', () => {
  it('accepts the example host used by npm start', async () => {
    const result = parseSimulatedHost(await readFile(EXAMPLE, 'utf8'), 'simulated-host.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.skipped).toEqual([]);
    expect(result.spec.devices.map((d) => `${d.id}:${d.type}`)).toEqual([
      'gpu0:GPU',
      'gpu1:GPU',
      'fpga0:FPGA',
      'nic0:NIC',
      'qat0:QAT',
      'nvme0:SSD',
    ]);
    expect(result.spec.faults).toEqual({ discoveryDelayMs: 0, devices: {} });
  });

  it('reads ids as text, so unquoted hex like 8086 or 0x10DE stays what was written', () => {
    const result = parseSimulatedHost(`devices:${gpu().replace('"10de"', '0x10DE').replace('"20b5"', '2000')}`);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.spec.devices[0]).toMatchObject({ vendor: '10de', product: '2000' });
  });

  it('gives the file, line and column of a YAML syntax error', () => {
    const result = parseSimulatedHost('devices:\n  - id: gpu0\n    traits: [A, B\n', 'host.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatch(/^host\.yaml:\d+:\d+: not valid YAML: /);
  });

  it('says which device and field is wrong, on which line, and still loads the other devices', () => {
    const text = `devices:${gpu()}
  - id: fpga0
    type: FPGA
    vendor: "8086"
    product: "09c4"
    model: PAC
    pci: "5e:00.0"
    deployables:
      - id: pf
        rc: FPGA
        handles: { type: PCI }
`;
    const result = parseSimulatedHost(text, 'host.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.spec.devices.map((d) => d.id)).toEqual(['gpu0']);
    expect(result.skipped).toEqual([
      {
        index: 1,
        id: 'fpga0',
        pci: null,
        problems: ['host.yaml:18: devices[1] (fpga0) / pci: expected a PCI address like "0000:5e:00.1", got "5e:00.0"'],
      },
    ]);
  });

  it.each([
    [
      'an unknown field',
      gpu('\n    trait: [X]'),
      'devices[0] (gpu0) / trait: unknown field; expected one of id, type, vendor',
    ],
    [
      'a bad type',
      gpu().replace('type: GPU', 'type: TPU'),
      'devices[0] (gpu0) / type: expected one of GPU, FPGA, AICHIP, QAT, NIC, SSD, got "TPU"',
    ],
    ['a missing model', gpu().replace('    model: A100\n', ''), 'devices[0] (gpu0) / model: missing (required)'],
    [
      'a lower-case resource class',
      gpu().replace('rc: PGPU', 'rc: pgpu'),
      'deployables[0] (gpu) / rc: expected upper-case letters',
    ],
    [
      'MDEV handles without a type',
      gpu().replace('{ type: PCI }', '{ type: MDEV, instances: 4 }'),
      'handles / mdevType: missing (required)',
    ],
    [
      'a VF entry without a parent',
      gpu().replace('rc: PGPU', 'rc: PGPU\n        count: 4'),
      'count: only a VF entry (one with `parent`) can have a count',
    ],
    [
      'a parent that does not exist',
      gpu().replace('rc: PGPU', 'rc: PGPU\n        parent: pf\n        pci: "0000:3b:00.1"'),
      'parent: no deployable with id pf on this device',
    ],
    ['a PF without VFs or handles', gpu().replace('        handles: { type: PCI }\n', ''), 'offers no accelerators'],
  ])('skips a device with %s, saying why', (_what, device, message) => {
    const result = parseSimulatedHost(`devices:${device}`, 'host.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.spec.devices).toEqual([]);
    expect(result.skipped[0]!.problems.join('\n')).toContain(message);
  });

  it('refuses a second device with the same id or address', () => {
    const result = parseSimulatedHost(`devices:${gpu()}${gpu()}`, 'host.yaml');
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(result.spec.devices).toHaveLength(1);
    expect(result.skipped[0]!.problems).toEqual([
      expect.stringContaining('devices[1] (gpu0) / id: id gpu0 is already used by devices[0]'),
      expect.stringContaining('devices[1] (gpu0) / pci: address is already used by devices[0]'),
    ]);
  });

  it('fails the whole file for problems outside device entries', () => {
    const result = parseSimulatedHost(
      `devices:${gpu()}\nfaults:\n  discoveryDelayMs: soon\n  devices:\n    gpu0: { program: explode }\nextra: 1\n`,
      'host.yaml',
    );
    expect(result).toEqual({
      ok: false,
      errors: [
        'host.yaml:17: extra: unknown field; expected one of devices, faults',
        'host.yaml:14: faults / discoveryDelayMs: expected a whole number from 0 to 600000, got "soon"',
        'host.yaml:16: faults / devices / gpu0 / program: expected one of ok, fail, hang, got "explode"',
      ],
    });
  });

  it.each([
    ['an empty file', ''],
    ['a list at the top', '- a\n- b\n'],
    ['devices that are not a list', 'devices: gpu0\n'],
  ])('explains %s instead of crashing', (_what, text) => {
    const result = parseSimulatedHost(text, 'host.yaml');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]).toMatch(/^host\.yaml(:\d+)?: /);
  });
});
