import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Settings } from '@cyborg/config';

/**
 * Mirrors reported deployables into OpenStack Placement. Without
 * PLACEMENT_URL it says so once and stays idle, so a single machine runs
 * without Placement.
 */
@Injectable()
export class PlacementSyncService implements OnApplicationBootstrap {
  private readonly logger = new Logger('placement-sync');

  constructor(private readonly settings: Settings) {}

  async onApplicationBootstrap() {
    const url = this.settings.PLACEMENT_URL;
    if (!url) {
      this.logger.log({ msg: 'PLACEMENT_URL is not set: Placement sync is off' });
      return;
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
      const body = (await response.json()) as { versions?: { id: string; max_version: string }[] };
      this.logger.log({ msg: 'Placement reachable', url, versions: body.versions?.map((v) => `${v.id} (max ${v.max_version})`) });
    } catch (error) {
      this.logger.warn({ msg: 'Placement not reachable yet', url, error: (error as Error).message });
    }
  }
}
