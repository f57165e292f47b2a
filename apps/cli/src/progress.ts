import type { WriteStream } from 'node:tty';

/**
 * Progress of a long command on stderr: one line rewritten in place on a
 * terminal, plain lines (at most one per tenth of the work) when piped or
 * logged, so stdout keeps only the result.
 */
export class Progress {
  private lastTenth = -1;
  private drawn = false;

  constructor(
    private readonly what: string,
    private readonly stream: NodeJS.WriteStream | WriteStream = process.stderr,
  ) {}

  update(done: number, total: number): void {
    const percent = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 100;
    const line = `${this.what}: ${done} of ${total} (${percent}%)`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\x1b[K`);
      this.drawn = true;
      return;
    }
    const tenth = Math.floor(percent / 10);
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.stream.write(`${line}\n`);
  }

  /** Ends the terminal's progress line, so what follows starts on its own. */
  done(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
