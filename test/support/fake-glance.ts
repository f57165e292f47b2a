import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidTokenError, type TokenIdentity, type TokenValidator } from '@cyborg/keystone';

export interface GlanceImage {
  id: string;
  data: Buffer;
  functionId?: string;
  /** Publish this sha512 instead of the data's: a tampered image. */
  publishedHash?: string;
  /** Publish only the legacy md5 `checksum`. */
  md5Only?: boolean;
}

/**
 * A local Glance image API v2 serving bitstream images the way Glance
 * answers (`GET /v2/images/{id}`, `GET /v2/images?accel:function_id=`,
 * `GET /v2/images/{id}/file`), recording every request path.
 */
export interface FakeGlanceOptions {
  /**
   * Check every X-Auth-Token against a real Keystone, as Glance's
   * keystonemiddleware does: a token Keystone refuses is answered 401.
   */
  validator?: TokenValidator;
}

export class FakeGlance {
  readonly requests: string[] = [];
  /** Per request (same order as `requests`): who its token spoke for, or null (unchecked or refused: 401). */
  readonly identities: (TokenIdentity | null)[] = [];
  private readonly images = new Map<string, GlanceImage>();

  private constructor(private readonly server: Server) {}

  static async start(options: FakeGlanceOptions = {}): Promise<FakeGlance> {
    const server = createServer(async (request, response) => {
      const url = new URL(request.url ?? '/', 'http://glance');
      glance.requests.push(`${url.pathname}${url.search}`);
      const send = (status: number, body?: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(body === undefined ? '' : JSON.stringify(body));
      };
      const slot = glance.identities.push(null) - 1;
      if (options.validator) {
        const token = request.headers['x-auth-token'];
        try {
          glance.identities[slot] = await options.validator.validate(typeof token === 'string' ? token : '');
        } catch (error) {
          return send(error instanceof InvalidTokenError ? 401 : 503, { message: (error as Error).message });
        }
      }
      const file = /^\/v2\/images\/([^/]+)\/file$/.exec(url.pathname);
      const one = /^\/v2\/images\/([^/]+)$/.exec(url.pathname);
      if (file) {
        const image = glance.images.get(file[1]);
        if (!image) return send(404);
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        return response.end(image.data);
      }
      if (one) {
        const image = glance.images.get(one[1]);
        return image ? send(200, metadata(image)) : send(404, { message: 'not found' });
      }
      if (url.pathname === '/v2/images') {
        const fn = url.searchParams.get('accel:function_id');
        const images = [...glance.images.values()].filter((i) => fn === null || i.functionId === fn);
        return send(200, { images: images.map(metadata) });
      }
      send(404);
    });
    const glance = new FakeGlance(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return glance;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds an image of random bytes (a bitstream stand-in) and returns its id. */
  add(options: Partial<GlanceImage> = {}): GlanceImage {
    const image: GlanceImage = { id: randomUUID(), data: Buffer.from(randomUUID().repeat(64)), ...options };
    this.images.set(image.id, image);
    return image;
  }

  downloads(id: string): number {
    return this.requests.filter((r) => r === `/v2/images/${id}/file`).length;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function metadata(image: GlanceImage): Record<string, unknown> {
  const sha512 = createHash('sha512').update(image.data).digest('hex');
  return {
    id: image.id,
    name: `bitstream-${image.id.slice(0, 8)}`,
    status: 'active',
    size: image.data.length,
    checksum: createHash('md5').update(image.data).digest('hex'),
    ...(image.md5Only ? {} : { os_hash_algo: 'sha512', os_hash_value: image.publishedHash ?? sha512 }),
    ...(image.functionId ? { 'accel:function_id': image.functionId } : {}),
  };
}
