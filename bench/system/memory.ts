import type { BenchModule } from '../support/context';
import { figure } from '../support/figure';
import { systemMemory } from './lifecycle';
import { MiB, type ProcessUsage } from './usage';

/** The services a deployment runs, by the names the system gives their processes (`agent` is the first host's). */
const SERVICES = ['conductor', 'api', 'placement-sync', 'agent'];

/**
 * Memory of each service process: at rest (the least of samples over 3 s
 * after a full collection, once each host has bound one ARQ) beside a bare
 * Node process, and at its largest under the heaviest lifecycle load beside
 * its own rest. RSS and the V8 heap in use. No goal: reported.
 */
export const memoryModule: BenchModule = {
  name: 'system.memory',
  title: 'Memory (RSS, heap) of each service at rest and under the heaviest ARQ load',
  async run(ctx) {
    const { rest, load, clients, node } = await systemMemory(ctx);
    for (const service of SERVICES) {
      const atRest = rest.get(service);
      const loaded = load.get(service);
      if (!atRest || !loaded) throw new Error(`no memory sample of ${service}`);
      const others = [...load].filter(([name]) => name.startsWith(`${service}-`)).map(([, u]) => u);
      const alike = others.length
        ? `; the other ${others.length} agents under load: RSS ${others.map((u) => mib(u.rss)).join(', ')} MiB`
        : '';
      const metrics: [string, (u: ProcessUsage) => number][] = [
        ['rss', (u) => u.rss],
        ['heap', (u) => u.heapUsed],
      ];
      for (const [metric, of] of metrics) {
        ctx.record(
          figure({
            name: `system.memory.${service}.rest.${metric}`,
            value: of(atRest) / MiB,
            unit: 'MiB',
            baseline: of(node) / MiB,
            note:
              metric === 'rss'
                ? `at rest: the least of samples over 3 s after a full GC; baseline: a bare Node process, same flags`
                : undefined,
          }),
        );
        ctx.record(
          figure({
            name: `system.memory.${service}.load.${metric}`,
            value: of(loaded) / MiB,
            unit: 'MiB',
            baseline: of(atRest) / MiB,
            note:
              metric === 'rss'
                ? `largest sample (every 250 ms) under ${clients} lifecycle clients; baseline: the same at rest${alike}`
                : undefined,
          }),
        );
      }
      ctx.log(
        `${service}: at rest RSS ${mib(atRest.rss)} MiB, heap ${mib(atRest.heapUsed)} MiB; under ${clients} clients ` +
          `RSS ${mib(loaded.rss)} MiB, heap ${mib(loaded.heapUsed)} MiB`,
      );
    }
  },
};

const mib = (bytes: number) => (bytes / MiB).toFixed(0);
