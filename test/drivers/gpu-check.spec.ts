import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cli } from '../audit/cli';
import { FixtureCopy } from '../fixtures/fixtures';

/**
 * `scripts/gpu-check.sh`, the read-only check of a GPU host, run as an operator runs it against
 * the gpu-host fixture tree (AGENT_SYSFS_ROOT) and its nvidia-smi: it prints the inventory the
 * agent would report and the health it sees, and leaves every file of the tree as it was.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let cli: Cli;
let copy: FixtureCopy;

interface Report {
  hostname: string;
  devices: {
    controlPathId: { info: { bus: string } };
    health?: { status: string; reasons: { code: string }[] };
    deployables: { name: string; numAccelerators: number; attachHandles: { type: string }[] }[];
  }[];
  warnings: { message: string }[];
}

function check(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'scripts', 'gpu-check.sh'),
      args,
      { cwd: ROOT, env: { ...process.env, CYBORG_CLI: cli.main, AGENT_HOSTNAME: 'gpu-check-host', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Every file's content and every link's target below `dir`: what "changes nothing" compares. */
async function treeDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (path: string): Promise<void> => {
    for (const name of (await readdir(path)).sort()) {
      const child = join(path, name);
      const info = await lstat(child);
      hash.update(child.slice(dir.length));
      if (info.isSymbolicLink()) hash.update(`-> ${await readlink(child)}`);
      else if (info.isDirectory()) await walk(child);
      else hash.update(await readFile(child));
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

beforeAll(async () => {
  cli = await Cli.build({});
  copy = await FixtureCopy.make('cyborg-gpu-check-');
});

afterAll(async () => {
  await cli?.remove();
  await copy?.remove();
});

describe('scripts/gpu-check.sh', () => {
  it('prints the inventory and health the agent would report, and changes nothing on the host', async () => {
    const before = await treeDigest(copy.dir);
    const env = {
      AGENT_SYSFS_ROOT: copy.sysfs('gpu-host'),
      AGENT_NVIDIA_SMI_PATH: await copy.tool('nvidia-smi'),
      AGENT_NVIDIA_VGPU_TYPES: 'nvidia-223,1289,nvidia-701@0000:86:00.4,nvidia-699@0000:86:00.5',
      AGENT_NVIDIA_XID_LOG: join(copy.dir, 'tools', 'outputs', 'kern-log.txt'),
    };
    const json = await check(['--json'], env);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as Report;
    expect(report.hostname).toBe('gpu-check-host');
    expect(report.devices.map((d) => [d.controlPathId.info.bus, d.deployables.length, d.health?.status])).toEqual([
      ['3b', 1, 'degraded'],
      ['41', 5, 'healthy'],
      ['5e', 1, 'degraded'],
      ['86', 3, 'unhealthy'],
      ['af', 1, 'healthy'],
      ['d8', 1, 'unhealthy'],
    ]);
    const h100 = report.devices[1].deployables.slice(1);
    expect(h100.map((d) => [d.name, d.numAccelerators, d.attachHandles[0].type])).toEqual(
      ['4', '5', '6', '7'].map((f) => [`gpu-check-host_0000:41:00.${f}`, 1, 'PCI']),
    );
    expect(report.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/^cannot read PCI function 0000:d9/)]);

    const text = await check([], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`sysfs: ${copy.sysfs('gpu-host')}`);
    expect(text.stdout).toContain('0000:86:00.0  GPU 10de:20b5  (nvidia_gpu)  health: unhealthy');
    expect(text.stdout).toContain('! row_remap_pending: a memory row remap is pending: the GPU needs a reset');
    expect(text.stdout).toContain('traits: OWNER_CYBORG CUSTOM_NVIDIA_20B5_A100D_3_40C CUSTOM_NVIDIA_MIG_3G_40GB');

    expect(await treeDigest(copy.dir)).toBe(before);
  });

  it('says what is wrong with a setting instead of reporting', async () => {
    const bad = await check(['--json'], { AGENT_NVIDIA_VGPU_TYPES: 'nvidia-223@3b:00.0' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/AGENT_NVIDIA_VGPU_TYPES/);
  });
});
