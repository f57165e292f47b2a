import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { RunningService, Settings } from '@cyborg/config';
import { PlacementSyncModule } from './placement-sync.module';
import { PlacementSyncService } from './placement-sync.service';

/** placement-sync as started; the extra members let tests and operators drive it. */
export interface RunningPlacementSync extends RunningService {
  /** Resolves once this instance is active (at once when PLACEMENT_URL is unset). */
  ready(): Promise<void>;
  /** A full reconcile of every host, now. */
  reconcile(): Promise<void>;
  /** Resolves when no Placement write is running or about to start. */
  idle(): Promise<void>;
  counters(): { requests: number; writes: number; conflicts: number };
}

export async function startPlacementSync(settings: Settings, logger: LoggerService): Promise<RunningPlacementSync> {
  const app = await NestFactory.createApplicationContext(PlacementSyncModule.forRoot(settings), { logger });
  await app.init();
  const sync = app.get(PlacementSyncService);
  return {
    name: 'placement-sync',
    close: () => app.close(),
    ready: () => sync.ready(),
    reconcile: () => sync.reconcile(),
    idle: () => sync.idle(),
    counters: () => sync.counters(),
    readiness: () => sync.readiness(),
  };
}
