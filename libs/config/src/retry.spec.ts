import { Backoff, retry } from './retry';

describe('retry', () => {
  it('tries again while the error is retryable, and returns the first success', async () => {
    let tries = 0;
    const seen: number[] = [];
    const result = await retry(
      async (attempt) => {
        tries = attempt;
        if (attempt < 3) throw new Error('busy');
        return 'done';
      },
      { initialMs: 1, maxMs: 2, retryOn: () => true, onRetry: (_, attempt) => seen.push(attempt) },
    );
    expect([result, tries, seen]).toEqual(['done', 3, [1, 2]]);
  });

  it('throws an error that is not retryable at once, and the last one when the attempts run out', async () => {
    let tries = 0;
    const fail = (message: string) => async () => {
      tries++;
      throw new Error(message);
    };
    await expect(retry(fail('refused'), { initialMs: 1, maxMs: 1, retryOn: () => false })).rejects.toThrow('refused');
    expect(tries).toBe(1);
    tries = 0;
    await expect(retry(fail('busy'), { initialMs: 1, maxMs: 1, attempts: 4, retryOn: () => true })).rejects.toThrow(
      'busy',
    );
    expect(tries).toBe(4);
  });

  it('stops waiting once its signal aborts', async () => {
    const stop = new AbortController();
    const run = retry(
      async () => {
        stop.abort();
        throw new Error('away');
      },
      { initialMs: 60_000, maxMs: 60_000, retryOn: () => true, signal: stop.signal },
    );
    await expect(run).rejects.toThrow('away');
  });
});

describe('Backoff', () => {
  it('doubles each wait up to its cap, and starts again after a reset', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 500 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([100, 200, 400, 500]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});
