/** The Placement API shapes this project uses, at microversion 1.39. */

export interface ResourceProvider {
  uuid: string;
  name: string;
  generation: number;
  parent_provider_uuid: string | null;
  root_provider_uuid: string;
}

export interface Inventory {
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
}

/** Inventories of one provider by resource class. */
export type Inventories = Record<string, Inventory>;

export interface ProviderInventories {
  generation: number;
  inventories: Inventories;
}

export interface ProviderTraits {
  generation: number;
  traits: string[];
}

export interface ProviderAllocations {
  generation: number;
  /** By consumer uuid. */
  allocations: Record<string, { resources: Record<string, number> }>;
}

/** One call as the client saw it; for logs and instrumentation. */
export interface PlacementCall {
  method: string;
  path: string;
  status: number;
  requestId: string | null;
  durationMs: number;
}
