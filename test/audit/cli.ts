import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The operator CLI as operators run it: built by swc as `npm run build`
 * does, run as a child process against a database. Built into a folder of
 * its own under dist/, so builds running beside it cannot change it mid-test.
 */
export class Cli {
  private constructor(
    private readonly dir: string,
    private readonly env: Record<string, string>,
  ) {}

  static async build(env: Record<string, string>): Promise<Cli> {
    const dir = join(ROOT, 'dist', `cli-test-${randomBytes(4).toString('hex')}`);
    const swc = join(ROOT, 'node_modules', '.bin', 'swc');
    await new Promise<void>((resolve, reject) =>
      execFile(swc, ['apps', 'libs', '-d', dir, '--config-file', '.swcrc', '--quiet'], { cwd: ROOT }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
    return new Cli(dir, env);
  }

  get main(): string {
    return join(this.dir, 'apps', 'cli', 'main.js');
  }

  /** `env`: settings for this run only, over the build's. */
  run(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [this.main, ...args],
        { cwd: ROOT, env: { ...process.env, ...this.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** A long-running command (`events --follow`), its output read as it comes. */
  start(args: string[]): ChildProcessWithoutNullStreams {
    return spawn(process.execPath, [this.main, ...args], { cwd: ROOT, env: { ...process.env, ...this.env } });
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
