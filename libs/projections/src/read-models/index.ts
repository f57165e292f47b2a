import type { Projection } from '../projection';
import { deviceProfilesProjection } from './device-profiles.projection';
import { inventoryProjection } from './inventory.projection';
import { arqsProjection } from './arqs.projection';

export * from './device-profiles.projection';
export * from './device-profiles.read-model';
export * from './inventory.projection';
export * from './inventory.read-model';
export * from './arqs.projection';
export * from './arqs.read-model';
export * from './hosts.read-model';
export * from './page';

/** Every read model the API serves, each kept by its projection. */
export const readModelProjections: Projection[] = [deviceProfilesProjection, inventoryProjection, arqsProjection];
