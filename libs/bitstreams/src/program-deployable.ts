import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AcceleratorDriver } from '@cyborg/drivers';
import { BitstreamError, type BitstreamImage } from './bitstream-image';
import type { BitstreamSource } from './bitstream-source';

export interface ProgramRequest {
  bitstreamId: string | null;
  functionId: string | null;
}

export type ProgramOutcome =
  | { ok: true; image: BitstreamImage }
  | { ok: false; reason: string; problem?: BitstreamError['problem'] | 'driver' | 'no_source' };

/**
 * Programs a deployable the way upstream's agent meant to, with its holes
 * closed: finds the image, downloads it into a private temporary directory,
 * verifies digest and size, lets the driver program it, and reports the
 * driver's refusal as a failure (upstream ignores it). The file is removed
 * whatever happens. Only an abort (the deadline) rejects.
 */
export async function programDeployable(
  source: BitstreamSource | null,
  driver: AcceleratorDriver,
  deployableName: string,
  request: ProgramRequest,
  signal: AbortSignal,
): Promise<ProgramOutcome> {
  if (!driver.program) {
    return {
      ok: false,
      problem: 'driver',
      reason: `the ${driver.name} driver cannot program deployable ${deployableName}`,
    };
  }
  if (!source) {
    return {
      ok: false,
      problem: 'no_source',
      reason: 'no bitstream source is configured on this host (BITSTREAM_SOURCE)',
    };
  }
  const directory = await mkdtemp(join(tmpdir(), 'cyborg-bitstream-'));
  try {
    const image = request.bitstreamId
      ? await source.describe(request.bitstreamId, signal)
      : await source.findByFunction(request.functionId ?? '', signal);
    const path = join(directory, `${image.id.replace(/[^A-Za-z0-9._-]/g, '_')}.gbs`);
    await source.download(image, path, signal);
    const result = await driver.program({ name: deployableName }, { path, checksum: image.checksum }, { signal });
    if (!result.ok) return { ok: false, problem: 'driver', reason: result.reason };
    return { ok: true, image };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof BitstreamError) return { ok: false, problem: error.problem, reason: error.message };
    return { ok: false, reason: (error as Error).message };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
