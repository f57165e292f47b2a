import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BitstreamError, type BitstreamImage, imageFromMetadata } from './bitstream-image';
import type { BitstreamSource } from './bitstream-source';
import { writeVerified } from './verified-download';

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/**
 * A directory of bitstreams for hosts without Glance: `<id>` holds the data
 * and `<id>.json` its Glance-shaped metadata (`os_hash_algo`,
 * `os_hash_value` or `checksum`, `size`, `accel:function_id`).
 */
export class DirectorySource implements BitstreamSource {
  constructor(private readonly directory: string) {}

  async describe(id: string): Promise<BitstreamImage> {
    if (!ID.test(id)) throw new BitstreamError('not_found', `bitstream id ${JSON.stringify(id)} is not a file name`);
    let text: string;
    try {
      text = await readFile(join(this.directory, `${id}.json`), 'utf8');
    } catch {
      throw new BitstreamError('not_found', `bitstream ${id} not found in ${this.directory}`);
    }
    return imageFromMetadata(id, parseMetadata(id, text));
  }

  async findByFunction(functionId: string): Promise<BitstreamImage> {
    const names = (await readdir(this.directory).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    const found: BitstreamImage[] = [];
    for (const name of names.sort()) {
      const image = await this.describe(name.slice(0, -'.json'.length)).catch(() => null);
      if (image?.functionId === functionId) found.push(image);
    }
    if (found.length === 0)
      throw new BitstreamError('not_found', `no bitstream in ${this.directory} has accel:function_id ${functionId}`);
    if (found.length > 1)
      throw new BitstreamError(
        'ambiguous',
        `${found.length} bitstreams in ${this.directory} have accel:function_id ${functionId}; ask for one by accel:bitstream_id`,
      );
    return found[0];
  }

  async download(image: BitstreamImage, path: string, signal?: AbortSignal): Promise<void> {
    await writeVerified(image, createReadStream(join(this.directory, image.id)), path, signal).catch(
      (error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT')
          throw new BitstreamError('not_found', `the data of bitstream ${image.id} is missing from ${this.directory}`);
        throw error;
      },
    );
  }
}

export function parseMetadata(id: string, text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new BitstreamError('unavailable', `the metadata of bitstream ${id} is not a JSON object`);
}
