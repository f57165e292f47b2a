import type { Projection } from '../projection';

/** Every read model the API serves, each kept by its projection. */
export const readModelProjections: Projection[] = [];
