import { type DynamicModule, Module } from '@nestjs/common';
import { Settings } from '@cyborg/config';
import { PlacementSyncService } from './placement-sync.service';

@Module({})
export class PlacementSyncModule {
  static forRoot(settings: Settings): DynamicModule {
    return {
      module: PlacementSyncModule,
      providers: [{ provide: Settings, useValue: settings }, PlacementSyncService],
    };
  }
}
