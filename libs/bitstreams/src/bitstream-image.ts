/** Digest algorithms a bitstream can be verified with: Glance's `os_hash_algo` values and the legacy md5. */
export const CHECKSUM_ALGORITHMS = ['sha512', 'sha384', 'sha256', 'sha1', 'md5'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export interface BitstreamChecksum {
  algorithm: ChecksumAlgorithm;
  /** Lower-case hex. */
  value: string;
}

/** A bitstream as its store describes it, before any byte is fetched. */
export interface BitstreamImage {
  id: string;
  /** The image's `accel:function_id` property. */
  functionId: string | null;
  checksum: BitstreamChecksum;
  /** Bytes, when the store says; a download of another size is refused. */
  size: number | null;
}

export type BitstreamProblem = 'not_found' | 'ambiguous' | 'no_checksum' | 'checksum_mismatch' | 'unavailable';

/** Why a bitstream cannot be programmed, in words an operator can act on. */
export class BitstreamError extends Error {
  constructor(
    readonly problem: BitstreamProblem,
    message: string,
  ) {
    super(message);
    this.name = 'BitstreamError';
  }
}

/**
 * The checksum to verify, from Glance-shaped metadata: the multihash
 * (`os_hash_algo`/`os_hash_value`) when present, else the md5 `checksum`.
 * An image without either is refused: nothing unverified reaches a device.
 */
export function imageFromMetadata(id: string, metadata: Record<string, unknown>): BitstreamImage {
  const algo = typeof metadata['os_hash_algo'] === 'string' ? metadata['os_hash_algo'].toLowerCase() : null;
  const hash = typeof metadata['os_hash_value'] === 'string' ? metadata['os_hash_value'].toLowerCase() : null;
  const md5 = typeof metadata['checksum'] === 'string' ? metadata['checksum'].toLowerCase() : null;
  let checksum: BitstreamChecksum;
  if (algo && hash) {
    if (!(CHECKSUM_ALGORITHMS as readonly string[]).includes(algo)) {
      throw new BitstreamError('no_checksum', `bitstream ${id} has os_hash_algo ${algo}, which cannot be verified`);
    }
    checksum = { algorithm: algo as ChecksumAlgorithm, value: hash };
  } else if (md5) {
    checksum = { algorithm: 'md5', value: md5 };
  } else {
    throw new BitstreamError(
      'no_checksum',
      `bitstream ${id} has no checksum (os_hash_value or checksum); it is not programmed unverified`,
    );
  }
  const fn = metadata['accel:function_id'];
  const size = metadata['size'];
  return {
    id,
    functionId: typeof fn === 'string' && fn !== '' ? fn : null,
    checksum,
    size: typeof size === 'number' && Number.isInteger(size) && size >= 0 ? size : null,
  };
}
