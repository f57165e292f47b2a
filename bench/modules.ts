import { fleetModule } from './fleet/fleet-bench';
import { appendModule } from './storage/append';
import { readAllModule } from './storage/read-all';
import { rebuildModule } from './storage/rebuild';
import type { BenchModule } from './support/context';
import { allInOneModule } from './system/all-in-one';
import { inventoryModule } from './system/inventory';
import { lifecycleModule } from './system/lifecycle';
import { memoryModule } from './system/memory';
import { placementModule } from './system/placement-calls';

/** A module under the short name that `BENCH_ONLY` selects it by. */
export interface BenchGroup {
  group: string;
  module: BenchModule;
}

/**
 * Every benchmark module, in run order. A new group of figures is a
 * BenchModule in its own file under bench/, added here with its group name.
 */
export const benchGroups: BenchGroup[] = [
  { group: 'append', module: appendModule },
  { group: 'read', module: readAllModule },
  { group: 'rebuild', module: rebuildModule },
  // npm start: its own process, servers and schema, all stopped before the multi-process system starts.
  { group: 'start', module: allInOneModule },
  // The system modules share one running system (bench/system/system.ts), started by the first of them.
  { group: 'lifecycle', module: lifecycleModule },
  { group: 'memory', module: memoryModule },
  { group: 'placement', module: placementModule },
  // Last: its thousand hosts would otherwise be in every later figure's way.
  { group: 'inventory', module: inventoryModule },
  // Its own nats-server and conductors on an emptied schema, after the shared system is done with it.
  { group: 'fleet', module: fleetModule },
];

/**
 * The modules that `BENCH_ONLY` names, in run order: each entry is a group
 * (`append`), a module name (`storage.append`) or a prefix of module names
 * (`storage`). No entry: every module. An entry matching nothing is an error.
 */
export function selectModules(only: readonly string[]): BenchModule[] {
  if (only.length === 0) return benchGroups.map((g) => g.module);
  const matches = (entry: string, g: BenchGroup) =>
    g.group === entry || g.module.name === entry || g.module.name.startsWith(`${entry}.`);
  const unknown = only.filter((entry) => !benchGroups.some((g) => matches(entry, g)));
  if (unknown.length > 0) {
    throw new Error(
      `BENCH_ONLY: ${unknown.join(', ')} matches no module; groups: ${benchGroups.map((g) => g.group).join(', ')}` +
        ` (or a module name: ${benchGroups.map((g) => g.module.name).join(', ')})`,
    );
  }
  return benchGroups.filter((g) => only.some((entry) => matches(entry, g))).map((g) => g.module);
}
