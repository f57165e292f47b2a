import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePciAddress } from './pci';
import { writeNvidiaVgpuType, writeSriovNumVfs } from './reshape';

/** A sysfs tree written here by hand, in the layout the kernel and NVIDIA's R550+ vGPU manager document. */
let root: string;
const pf = parsePciAddress('0000:86:00.0')!;
const vf = parsePciAddress('0000:3b:00.4')!;
const dir = (bdf: string) => join(root, 'bus', 'pci', 'devices', bdf);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cyborg-reshape-'));
  await mkdir(dir('0000:86:00.0'), { recursive: true });
  await writeFile(join(dir('0000:86:00.0'), 'sriov_totalvfs'), '64\n');
  await writeFile(join(dir('0000:86:00.0'), 'sriov_numvfs'), '8\n');
  await mkdir(join(dir('0000:3b:00.4'), 'nvidia'), { recursive: true });
  await writeFile(join(dir('0000:3b:00.4'), 'nvidia', 'current_vgpu_type'), '0\n');
  await writeFile(
    join(dir('0000:3b:00.4'), 'nvidia', 'creatable_vgpu_types'),
    'ID    : vGPU Name\n558   : NVIDIA H100XM-10C\n559   : NVIDIA H100XM-20C\n',
  );
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('sriov_numvfs', () => {
  it('sets a new VF count (the kernel needs 0 in between, so the file ends at the new count)', async () => {
    expect(await writeSriovNumVfs(root, pf, 4)).toEqual({ ok: true });
    expect(await readFile(join(dir('0000:86:00.0'), 'sriov_numvfs'), 'utf8')).toBe('4');
  });

  it('refuses more VFs than sriov_totalvfs, and a device without SR-IOV', async () => {
    expect(await writeSriovNumVfs(root, pf, 65)).toEqual({
      ok: false,
      reasons: ['0000:86:00.0 supports 0 to 64 VFs, not 65'],
    });
    expect(await writeSriovNumVfs(root, vf, 1)).toEqual({
      ok: false,
      reasons: ['0000:3b:00.4 has no SR-IOV capability (no sriov_totalvfs)'],
    });
  });
});

describe('nvidia/current_vgpu_type', () => {
  it('writes a creatable type id, from an mdev-style name too', async () => {
    expect(await writeNvidiaVgpuType(root, vf, 'nvidia-558')).toEqual({ ok: true });
    expect(await readFile(join(dir('0000:3b:00.4'), 'nvidia', 'current_vgpu_type'), 'utf8')).toBe('558');
  });

  it('refuses a type the VF cannot become now', async () => {
    expect(await writeNvidiaVgpuType(root, vf, '700')).toEqual({
      ok: false,
      reasons: ['vGPU type 700 is not creatable on 0000:3b:00.4 now (see nvidia/creatable_vgpu_types)'],
    });
  });

  it('refuses a function that is not an NVIDIA vGPU VF', async () => {
    expect(await writeNvidiaVgpuType(root, pf, '558')).toEqual({
      ok: false,
      reasons: ['0000:86:00.0 has no nvidia/current_vgpu_type (not an NVIDIA vGPU VF)'],
    });
  });
});
