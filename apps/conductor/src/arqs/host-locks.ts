import { Injectable } from '@nestjs/common';

/**
 * Runs work touching a host stream one at a time per host, in this process.
 * Appends still carry expected versions (other conductors, inventory
 * reports); the lock only keeps this conductor's own binds from colliding
 * and burning their retries when many arrive for one host at once.
 */
@Injectable()
export class HostLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(hostnames: readonly string[], work: () => Promise<T>): Promise<T> {
    // A fixed order, so two requests over the same hosts cannot wait on each other.
    const keys = [...new Set(hostnames)].sort();
    const releases: (() => void)[] = [];
    try {
      for (const key of keys) releases.push(await this.acquire(key));
      return await work();
    } finally {
      for (const release of releases.reverse()) release();
    }
  }

  private async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
