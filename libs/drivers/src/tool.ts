import { type ChildProcess, spawn } from 'node:child_process';
import { basename } from 'node:path';

/** How long a discovery tool (`lspci`, `nvidia-smi`) may run before it counts as failed. */
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;
/** How long programming a bitstream may run (flashing a base image takes minutes). */
export const DEFAULT_PROGRAM_TIMEOUT_MS = 600_000;

const MAX_STDOUT_BYTES = 16 * 1024 * 1024;
const KEPT_STDERR_CHARS = 64 * 1024;
const REASON_TAIL_CHARS = 500;

export interface ToolOptions {
  /** Aborting kills the tool (and anything it started) and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Past this the tool is killed and the result says `timedOut`. */
  timeoutMs: number;
}

export interface ToolResult {
  /** The exit status; null when a signal ended the tool. */
  exitCode: number | null;
  killedBy: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  /** The end of what the tool wrote to stderr. */
  stderr: string;
}

/** The tool could not be started at all (not installed, not executable). */
export class ToolUnavailableError extends Error {
  constructor(
    readonly path: string,
    readonly code: string | undefined,
    cause: string,
  ) {
    super(`cannot run ${path}: ${cause}`);
    this.name = 'ToolUnavailableError';
  }
}

/**
 * Runs a host tool without a shell. The tool gets its own process group, so a timeout or an
 * abort kills whatever it started too (a hung programming tool often waits in a child).
 */
export function runTool(path: string, args: readonly string[], options: ToolOptions): Promise<ToolResult> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<ToolResult>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(path, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      reject(new ToolUnavailableError(path, e.code, e.message));
      return;
    }
    let settled = false;
    let timedOut = false;
    let stdout = '';
    let stdoutBytes = 0;
    let stderr = '';

    const kill = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      if (settled) return;
      finish();
      kill();
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      stdoutBytes += Buffer.byteLength(chunk);
      // Far more than any listing: a tool this chatty is broken, and memory is not its to take.
      if (stdoutBytes > MAX_STDOUT_BYTES) kill();
      else stdout += chunk;
    });
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-KEPT_STDERR_CHARS);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (settled) return;
      finish();
      kill();
      reject(new ToolUnavailableError(path, error.code, error.message));
    });
    child.on('close', (code, killedBy) => {
      if (settled) return;
      finish();
      resolve({ exitCode: code, killedBy, timedOut, stdout, stderr });
    });
  });
}

/** Why a finished run is a failure, with the end of its stderr (or stdout when stderr is empty); null when it succeeded. */
export function toolFailure(path: string, result: ToolResult, timeoutMs: number): string | null {
  const name = basename(path);
  const tail = outputTail(result.stderr) || outputTail(result.stdout);
  const said = tail ? `: ${tail}` : '';
  if (result.timedOut) return `${name} did not finish within ${timeoutMs} ms and was killed${said}`;
  if (result.killedBy) return `${name} was killed by ${result.killedBy}${said}`;
  if (result.exitCode !== 0) return `${name} exited with status ${result.exitCode}${said}`;
  return null;
}

/** The last few hundred characters of a tool's output, on one line. */
export function outputTail(text: string, max = REASON_TAIL_CHARS): string {
  const oneLine = text.trim().replace(/\s*\n\s*/g, ' | ');
  return oneLine.length <= max ? oneLine : `...${oneLine.slice(-max)}`;
}
