import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fpgaCardHealth } from './fpga-health';
import { aerTotal, pciHealth } from './pci-health';
import { readTopology, topologyTraits } from './topology';

/** The sysfs readers behind device health and topology, each on a small tree written for the case. */
let dir: string;

async function files(base: string, entries: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(entries)) {
    await mkdir(join(base, name, '..'), { recursive: true });
    await writeFile(join(base, name), `${text}\n`);
  }
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cyborg-health-'));
});

afterEach(() => rm(dir, { recursive: true, force: true }));

describe('PCI health from sysfs', () => {
  it('sums AER counters when there is no total line, and reads none from an empty file', () => {
    expect(aerTotal('DLP 1\nSDES 2\n', 'TOTAL_ERR_FATAL')).toBe(3);
    expect(aerTotal('DLP 1\nTOTAL_ERR_FATAL 5\n', 'TOTAL_ERR_FATAL')).toBe(5);
    expect(aerTotal('', 'TOTAL_ERR_FATAL')).toBeNull();
  });

  it('calls a link below its speed downtrained, unless the device lowers its speed when idle', async () => {
    const fn = { path: join(dir, 'fn'), bdf: '0000:5e:00.0', physfn: null };
    await files(fn.path, {
      current_link_speed: '8.0 GT/s PCIe',
      max_link_speed: '16.0 GT/s PCIe',
      current_link_width: '16',
      max_link_width: '16',
    });
    expect(await pciHealth(fn)).toMatchObject({
      status: 'degraded',
      reasons: [
        {
          code: 'link_downtrained',
          message: 'the PCIe link of 0000:5e:00.0 trained down to 8.0 GT/s PCIe of 16.0 GT/s PCIe',
        },
      ],
    });
    expect(await pciHealth(fn, { dynamicLinkSpeed: true })).toEqual({ status: 'healthy', reasons: [] });
    // A VF has no link of its own.
    expect(await pciHealth({ ...fn, physfn: '0000:5e:00.0' })).toEqual({ status: 'healthy', reasons: [] });
  });
});

describe('FPGA card health from hwmon and error registers', () => {
  it('is unhealthy at a critical temperature and on a catastrophic FME error, degraded on a PCIe error', async () => {
    const card = join(dir, 'card');
    await files(card, {
      'fpga_region/region0/dfl-fme.0/hwmon/hwmon1/name': 'dfl_fme_thermal',
      'fpga_region/region0/dfl-fme.0/hwmon/hwmon1/temp1_input': '101000',
      'fpga_region/region0/dfl-fme.0/hwmon/hwmon1/temp1_max': '90000',
      'fpga_region/region0/dfl-fme.0/hwmon/hwmon1/temp1_crit': '100000',
      'fpga_region/region0/dfl-fme.0/errors/catfatal_errors': '0x8',
      'fpga_region/region0/dfl-fme.0/errors/pcie0_errors': '0x1',
      'fpga_region/region0/dfl-fme.0/errors/inject_errors': '0x3',
    });
    const health = await fpgaCardHealth(card);
    expect(health.status).toBe('unhealthy');
    expect(health.reasons.map((r) => [r.code, r.message])).toEqual([
      ['fme_catfatal_error', 'fpga_region/region0/dfl-fme.0/errors/catfatal_errors is 0x8'],
      ['fme_pcie0_error', 'fpga_region/region0/dfl-fme.0/errors/pcie0_errors is 0x1'],
      ['temperature', 'dfl_fme_thermal temp1 at 101.0 C, at or above its critical 100.0 C'],
    ]);
  });

  it('finds nothing on a card without sensors or registers', async () => {
    await mkdir(join(dir, 'bare'));
    expect(await fpgaCardHealth(join(dir, 'bare'))).toEqual({ status: 'healthy', reasons: [] });
  });
});

describe('topology', () => {
  it('reads the NUMA node and the root port from the resolved sysfs path; -1 is no node', async () => {
    const fn = join(dir, 'devices', 'pci0000:3a', '0000:3a:00.0', '0000:3b:00.0');
    await files(fn, { numa_node: '-1' });
    await mkdir(join(dir, 'bus'), { recursive: true });
    await symlink(fn, join(dir, 'bus', '0000:3b:00.0'));
    const topology = await readTopology({ path: join(dir, 'bus', '0000:3b:00.0'), bdf: '0000:3b:00.0' });
    expect(topology).toEqual({ numaNode: null, pcieRoot: '0000:3a:00.0' });
    expect(topologyTraits(topology)).toEqual(['CUSTOM_PCIE_ROOT_0000_3A_00_0']);
  });
});
