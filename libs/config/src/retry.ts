/** How a retry loop waits: doubling from `initialMs` up to `maxMs`, optionally spread at random. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Waits drawn between 0 and the doubling value, so many waiters do not retry in step. */
  jitter?: boolean;
}

/**
 * The one backoff of every retry loop: each wait twice the last, capped;
 * reset after a success. `wait` ends early, without throwing, when the
 * signal aborts.
 */
export class Backoff {
  private current: number;

  constructor(private readonly options: BackoffOptions) {
    this.current = options.initialMs;
  }

  /** The next wait in ms; the one after it doubles. */
  next(): number {
    const base = this.current;
    this.current = Math.min(this.current * 2, this.options.maxMs);
    return this.options.jitter ? Math.random() * base : base;
  }

  reset(): void {
    this.current = this.options.initialMs;
  }

  /** Sleeps the next wait, at most `atMostMs`. */
  wait(signal?: AbortSignal, atMostMs = Number.POSITIVE_INFINITY): Promise<void> {
    return sleep(Math.max(0, Math.min(this.next(), atMostMs)), signal);
  }
}

export interface RetryOptions extends BackoffOptions {
  /** Tries in all, the first included; unbounded when absent. */
  attempts?: number;
  /** Whether an error is worth another try; the others are thrown at once. */
  retryOn: (error: unknown) => boolean;
  /** Stops waiting: the last error is thrown. */
  signal?: AbortSignal;
  /** Told of each error that is retried (to log it). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** Runs `work` until it succeeds, an error is not retryable, the attempts run out or the signal aborts. */
export async function retry<T>(work: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      const last = options.attempts !== undefined && attempt >= options.attempts;
      if (last || options.signal?.aborted || !options.retryOn(error)) throw error;
      options.onRetry?.(error, attempt);
      await backoff.wait(options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}

/** Resolves after `ms`, or at once when the signal aborts; never keeps the process alive. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref?.();
    signal?.addEventListener('abort', done, { once: true });
  });
}
