import { verifyBitstreamChecksum } from './bitstream';
import type { Bitstream, ProgramResult } from './driver';
import { runTool, toolFailure, ToolUnavailableError } from './tool';

export interface ProgrammingToolRun {
  /** The programming tool (`fpgaconf`, `xrt-smi`). */
  path: string;
  /** Its arguments; the bitstream's path is among them. */
  args: string[];
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Checks the bitstream against its checksum, then runs the vendor's programming tool. A bad
 * checksum never reaches the device; a non-zero exit, a kill or a timeout is a refusal whose
 * reason ends with what the tool said. Only an abort rejects (and kills the tool).
 */
export async function programWithTool(bitstream: Bitstream, run: ProgrammingToolRun): Promise<ProgramResult> {
  const mismatch = await verifyBitstreamChecksum(bitstream, run.signal);
  if (mismatch) return { ok: false, reason: mismatch };
  try {
    const result = await runTool(run.path, run.args, { signal: run.signal, timeoutMs: run.timeoutMs });
    const failure = toolFailure(run.path, result, run.timeoutMs);
    return failure ? { ok: false, reason: failure } : { ok: true };
  } catch (error) {
    if (error instanceof ToolUnavailableError) return { ok: false, reason: error.message };
    throw error;
  }
}
