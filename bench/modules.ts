import { appendModule } from './storage/append';
import { readAllModule } from './storage/read-all';
import { rebuildModule } from './storage/rebuild';
import type { BenchModule } from './support/context';

/**
 * Every benchmark module, in run order. A new group of figures (the end-to-end
 * ones: API → conductor → read model, relay to JetStream, …) is a BenchModule
 * in its own file under bench/, added here.
 */
export const benchModules: BenchModule[] = [appendModule, readAllModule, rebuildModule];
