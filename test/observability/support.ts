import { Writable } from 'node:stream';
import { createLogger } from '@cyborg/config';

/** Every line the services of a test system log, parsed, in the order written. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  private readonly destination = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) this.lines.push(JSON.parse(line));
      done();
    },
  });

  /** A service's logger at debug level, writing here. */
  logger(service: string) {
    return createLogger(service, { LOG_LEVEL: 'debug', LOG_FORMAT: 'json' }, { destination: this.destination });
  }

  withRequestId(requestId: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line.requestId === requestId);
  }
}

/** One sample of Prometheus's text format: name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include `labels`. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
