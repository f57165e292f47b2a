import type { BitstreamImage } from './bitstream-image';

/**
 * Where bitstreams come from: Glance, a directory, or an HTTP server.
 * Every download is verified against the image's checksum before it returns.
 */
export interface BitstreamSource {
  /** The image of that id; BitstreamError `not_found` when there is none. */
  describe(id: string, signal?: AbortSignal): Promise<BitstreamImage>;
  /** The one image providing that function (upstream: exactly one, else the bind fails). */
  findByFunction(functionId: string, signal?: AbortSignal): Promise<BitstreamImage>;
  /** Downloads the image to `path`, verified; nothing is left at `path` when it fails. */
  download(image: BitstreamImage, path: string, signal?: AbortSignal): Promise<void>;
}
