import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BitstreamError, type BitstreamImage } from './bitstream-image';

/**
 * Writes `data` to `path`, hashing it on the way, and keeps the file only
 * when digest and size match the image's: a file that fails is removed
 * before anyone can program it.
 */
export async function writeVerified(
  image: BitstreamImage,
  data: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  path: string,
  signal?: AbortSignal,
): Promise<void> {
  const hash = createHash(image.checksum.algorithm);
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      if (image.size !== null && size > image.size) {
        done(new BitstreamError('checksum_mismatch', `bitstream ${image.id} is larger than its ${image.size} bytes`));
        return;
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(data, measure, createWriteStream(path, { mode: 0o600, flush: true }), { signal });
    if (image.size !== null && size !== image.size) {
      throw new BitstreamError(
        'checksum_mismatch',
        `bitstream ${image.id} has ${size} bytes, its image says ${image.size}`,
      );
    }
    const actual = hash.digest('hex');
    if (actual !== image.checksum.value) {
      throw new BitstreamError(
        'checksum_mismatch',
        `bitstream ${image.id} fails its ${image.checksum.algorithm} check: expected ${image.checksum.value}, got ${actual}`,
      );
    }
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
}
