import { fileURLToPath } from 'node:url';
import type { BitstreamSource } from './bitstream-source';
import { DirectorySource } from './directory.source';
import { GlanceSource } from './glance.source';
import { HttpSource } from './http.source';

/**
 * The source a BITSTREAM_SOURCE URL names: `glance+http(s)://<glance endpoint>`,
 * `file:///<directory>`, or `http(s)://<base>/`.
 */
export function createBitstreamSource(url: string, token?: string): BitstreamSource {
  if (url.startsWith('glance+')) return new GlanceSource(url.slice('glance+'.length), token);
  if (url.startsWith('file:')) return new DirectorySource(fileURLToPath(url));
  if (url.startsWith('http://') || url.startsWith('https://')) return new HttpSource(url);
  throw new Error(`BITSTREAM_SOURCE must start with glance+http(s)://, file:// or http(s)://; got ${url}`);
}
