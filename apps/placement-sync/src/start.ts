import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { RunningService, Settings } from '@cyborg/config';
import { PlacementSyncModule } from './placement-sync.module';

export async function startPlacementSync(settings: Settings, logger: LoggerService): Promise<RunningService> {
  const app = await NestFactory.createApplicationContext(PlacementSyncModule.forRoot(settings), { logger });
  await app.init();
  return { name: 'placement-sync', close: () => app.close() };
}
