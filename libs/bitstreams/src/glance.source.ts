import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { FixedTokenAuth, type ServiceAuth } from '@cyborg/keystone';
import { BitstreamError, type BitstreamImage, imageFromMetadata } from './bitstream-image';
import type { BitstreamSource } from './bitstream-source';
import { writeVerified } from './verified-download';

/**
 * Glance's image API v2: `GET /v2/images/{id}` for metadata and checksum,
 * `GET /v2/images?accel:function_id=<id>` to find by function, and
 * `GET /v2/images/{id}/file` for the data.
 */
export class GlanceSource implements BitstreamSource {
  private readonly auth: ServiceAuth;

  /** `auth`: a service user's session (catalog `image`), or Glance's URL with a fixed token. */
  constructor(auth: ServiceAuth | string, token?: string) {
    this.auth = typeof auth === 'string' ? new FixedTokenAuth(auth, token) : auth;
  }

  async describe(id: string, signal?: AbortSignal): Promise<BitstreamImage> {
    const response = await this.get(`/v2/images/${encodeURIComponent(id)}`, signal);
    if (response.status === 404) throw new BitstreamError('not_found', `bitstream image ${id} not found in Glance`);
    const image = (await this.json(response, `image ${id}`)) as Record<string, unknown>;
    return this.active(id, image);
  }

  async findByFunction(functionId: string, signal?: AbortSignal): Promise<BitstreamImage> {
    const query = new URLSearchParams({ 'accel:function_id': functionId, status: 'active' });
    const response = await this.get(`/v2/images?${query.toString()}`, signal);
    const body = (await this.json(response, `images of function ${functionId}`)) as { images?: unknown };
    const images = Array.isArray(body.images) ? (body.images as Record<string, unknown>[]) : [];
    if (images.length === 0)
      throw new BitstreamError('not_found', `no bitstream image in Glance has accel:function_id ${functionId}`);
    if (images.length > 1) {
      throw new BitstreamError(
        'ambiguous',
        `${images.length} bitstream images in Glance have accel:function_id ${functionId}; ask for one by accel:bitstream_id`,
      );
    }
    return this.active(String(images[0]['id']), images[0]);
  }

  async download(image: BitstreamImage, path: string, signal?: AbortSignal): Promise<void> {
    const response = await this.get(`/v2/images/${encodeURIComponent(image.id)}/file`, signal);
    if (response.status !== 200 || !response.body) {
      throw new BitstreamError('unavailable', `Glance answered ${response.status} for the data of image ${image.id}`);
    }
    await writeVerified(image, Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), path, signal);
  }

  private active(id: string, image: Record<string, unknown>): BitstreamImage {
    if (image['status'] !== undefined && image['status'] !== 'active') {
      throw new BitstreamError('unavailable', `bitstream image ${id} is ${String(image['status'])}, not active`);
    }
    return imageFromMetadata(id, image);
  }

  private async get(path: string, signal?: AbortSignal): Promise<Response> {
    try {
      // The catalog lists Glance with or without its version.
      const base = (await this.auth.baseUrl()).replace(/\/v2$/, '');
      return await this.auth.request(`${base}${path}`, { headers: { accept: 'application/json' }, signal });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new BitstreamError(
        'unavailable',
        `Glance at ${this.auth.description} is unreachable: ${(error as Error).message}`,
      );
    }
  }

  private async json(response: Response, what: string): Promise<unknown> {
    if (response.status !== 200) {
      throw new BitstreamError('unavailable', `Glance answered ${response.status} for ${what}`);
    }
    try {
      return await response.json();
    } catch {
      throw new BitstreamError('unavailable', `Glance answered ${what} with something that is not JSON`);
    }
  }
}
