import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Bitstream, BitstreamHashAlgorithm } from './driver';

const HASH_ALGORITHMS: readonly BitstreamHashAlgorithm[] = ['sha512', 'sha384', 'sha256', 'sha1', 'md5'];

/**
 * Why the file at `bitstream.path` is not the bitstream Glance published, or null when it is.
 * Read as a stream, so a large image is never held in memory. Upstream programs whatever it
 * downloaded; this check runs before any device is touched. An abort rejects with its reason.
 */
export async function verifyBitstreamChecksum(bitstream: Bitstream, signal?: AbortSignal): Promise<string | null> {
  signal?.throwIfAborted();
  const { algorithm, value } = bitstream.checksum;
  if (!HASH_ALGORITHMS.includes(algorithm)) {
    return `bitstream ${bitstream.path}: unsupported checksum algorithm ${JSON.stringify(algorithm)}`;
  }
  const hash = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(bitstream.path)) {
      signal?.throwIfAborted();
      hash.update(chunk as Buffer);
    }
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    return `cannot read bitstream ${bitstream.path}: ${(error as Error).message}`;
  }
  const actual = hash.digest('hex');
  if (actual !== value.trim().toLowerCase()) {
    return `bitstream ${bitstream.path} fails its ${algorithm} check: expected ${value}, got ${actual}`;
  }
  return null;
}
