import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyBitstreamChecksum } from './bitstream';
import type { BitstreamHashAlgorithm } from './driver';

let dir: string;
let path: string;
// Larger than one read-stream chunk, so the digest spans chunks.
const data = Buffer.alloc(200_000, 7);
const digest = (algorithm: BitstreamHashAlgorithm) => createHash(algorithm).update(data).digest('hex');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstream-'));
  path = join(dir, 'image.gbs');
  await writeFile(path, data);
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('checking a bitstream against the digest Glance published', () => {
  it("accepts Glance's digests (sha512 by default, sha384, sha256, sha1, md5) in either case", async () => {
    for (const algorithm of ['sha512', 'sha384', 'sha256', 'sha1', 'md5'] as const) {
      expect(await verifyBitstreamChecksum({ path, checksum: { algorithm, value: digest(algorithm) } })).toBeNull();
    }
    expect(
      await verifyBitstreamChecksum({ path, checksum: { algorithm: 'md5', value: ` ${digest('md5').toUpperCase()}` } }),
    ).toBeNull();
  });

  it('says why a file is not the bitstream', async () => {
    expect(await verifyBitstreamChecksum({ path, checksum: { algorithm: 'sha256', value: digest('md5') } })).toBe(
      `bitstream ${path} fails its sha256 check: expected ${digest('md5')}, got ${digest('sha256')}`,
    );
    expect(
      await verifyBitstreamChecksum({ path: join(dir, 'missing.gbs'), checksum: { algorithm: 'md5', value: 'x' } }),
    ).toMatch(/^cannot read bitstream .*missing\.gbs: ENOENT/);
    const sha3 = { algorithm: 'sha3-256' as BitstreamHashAlgorithm, value: 'x' };
    expect(await verifyBitstreamChecksum({ path, checksum: sha3 })).toMatch(
      /unsupported checksum algorithm "sha3-256"/,
    );
  });

  it('stops with the reason when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('deadline'));
    await expect(
      verifyBitstreamChecksum({ path, checksum: { algorithm: 'sha256', value: digest('sha256') } }, controller.signal),
    ).rejects.toThrow('deadline');
  });
});
