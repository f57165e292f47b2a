import { fileURLToPath } from 'node:url';
import type { ServiceAuth } from '@cyborg/keystone';
import type { BitstreamSource } from './bitstream-source';
import { DirectorySource } from './directory.source';
import { GlanceSource } from './glance.source';
import { HttpSource } from './http.source';

/**
 * How to reach Glance: a fixed token for the URL, or a function giving the
 * service user's auth for an override URL (undefined: the catalog's `image`).
 */
export type GlanceAuth = string | undefined | ((url: string | undefined) => ServiceAuth | null);

/**
 * The source a BITSTREAM_SOURCE URL names: `glance+http(s)://<glance endpoint>`,
 * `glance` (Glance from the service catalog, with a service user),
 * `file:///<directory>`, or `http(s)://<base>/`.
 */
export function createBitstreamSource(url: string, glance?: GlanceAuth): BitstreamSource {
  if (url === 'glance' || url.startsWith('glance+')) {
    const override = url === 'glance' ? undefined : url.slice('glance+'.length);
    if (typeof glance === 'function') {
      const auth = glance(override);
      if (!auth) throw new Error('BITSTREAM_SOURCE=glance finds Glance in the service catalog: set KEYSTONE_AUTH_URL');
      return new GlanceSource(auth);
    }
    if (!override)
      throw new Error('BITSTREAM_SOURCE=glance finds Glance in the service catalog: set KEYSTONE_AUTH_URL');
    return new GlanceSource(override, glance);
  }
  if (url.startsWith('file:')) return new DirectorySource(fileURLToPath(url));
  if (url.startsWith('http://') || url.startsWith('https://')) return new HttpSource(url);
  throw new Error(`BITSTREAM_SOURCE must be glance or start with glance+http(s)://, file:// or http(s)://; got ${url}`);
}
