import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { BitstreamError, type BitstreamImage, imageFromMetadata } from './bitstream-image';
import type { BitstreamSource } from './bitstream-source';
import { parseMetadata } from './directory.source';
import { writeVerified } from './verified-download';

/**
 * The directory layout served over HTTP: `<base>/<id>`, `<base>/<id>.json`,
 * and `<base>/index.json` (a list of the metadata, each with its `id`) to
 * find a bitstream by function.
 */
export class HttpSource implements BitstreamSource {
  private readonly base: string;

  constructor(url: string) {
    this.base = url.endsWith('/') ? url : `${url}/`;
  }

  async describe(id: string, signal?: AbortSignal): Promise<BitstreamImage> {
    const response = await this.get(`${encodeURIComponent(id)}.json`, signal);
    if (response.status === 404) throw new BitstreamError('not_found', `bitstream ${id} not found at ${this.base}`);
    if (response.status !== 200)
      throw new BitstreamError('unavailable', `${this.base} answered ${response.status} for bitstream ${id}`);
    return imageFromMetadata(id, parseMetadata(id, await response.text()));
  }

  async findByFunction(functionId: string, signal?: AbortSignal): Promise<BitstreamImage> {
    const response = await this.get('index.json', signal);
    if (response.status !== 200)
      throw new BitstreamError('unavailable', `${this.base} answered ${response.status} for index.json`);
    let entries: unknown;
    try {
      entries = JSON.parse(await response.text());
    } catch {
      throw new BitstreamError('unavailable', `${this.base}index.json is not JSON`);
    }
    const found = (Array.isArray(entries) ? (entries as Record<string, unknown>[]) : []).filter(
      (e) => e && e['accel:function_id'] === functionId && typeof e['id'] === 'string',
    );
    if (found.length === 0)
      throw new BitstreamError('not_found', `no bitstream at ${this.base} has accel:function_id ${functionId}`);
    if (found.length > 1)
      throw new BitstreamError(
        'ambiguous',
        `${found.length} bitstreams at ${this.base} have accel:function_id ${functionId}; ask for one by accel:bitstream_id`,
      );
    return imageFromMetadata(found[0]['id'] as string, found[0]);
  }

  async download(image: BitstreamImage, path: string, signal?: AbortSignal): Promise<void> {
    const response = await this.get(encodeURIComponent(image.id), signal);
    if (response.status !== 200 || !response.body)
      throw new BitstreamError('unavailable', `${this.base} answered ${response.status} for the data of ${image.id}`);
    await writeVerified(image, Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), path, signal);
  }

  private async get(path: string, signal?: AbortSignal): Promise<Response> {
    try {
      return await fetch(new URL(path, this.base), { signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new BitstreamError('unavailable', `${this.base} is unreachable: ${(error as Error).message}`);
    }
  }
}
