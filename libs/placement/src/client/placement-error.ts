/** Placement's error codes this project acts on (`errors[].code` in the body). */
export const PlacementErrorCodes = {
  /** A write named a stale resource provider generation. */
  concurrentUpdate: 'placement.concurrent_update',
  /** A provider with this uuid or name exists. */
  duplicateName: 'placement.duplicate_name',
  /** DELETE of a provider that still has allocations. */
  providerInUse: 'placement.resource_provider.inuse',
  /** DELETE of a provider that still has children. */
  cannotDeleteParent: 'placement.resource_provider.cannot_delete_parent',
  /** An inventory change would drop a resource class that has allocations. */
  inventoryInUse: 'placement.inventory.inuse',
} as const;

/**
 * A Placement answer that was not a success. Every 4xx and 5xx becomes one of
 * these (nothing is swallowed), with the request id Placement logged it under.
 */
export class PlacementError extends Error {
  override readonly name = 'PlacementError';

  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly code: string | null,
    readonly detail: string,
    readonly requestId: string | null,
  ) {
    super(
      `Placement ${method} ${path} answered ${status}${code ? ` ${code}` : ''}: ${detail}${requestId ? ` (${requestId})` : ''}`,
    );
  }

  get isConcurrentUpdate(): boolean {
    return this.status === 409 && this.code === PlacementErrorCodes.concurrentUpdate;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }
}

/** Placement could not be reached or did not answer in time. */
export class PlacementUnreachableError extends Error {
  override readonly name = 'PlacementUnreachableError';

  constructor(
    readonly method: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(`Placement ${method} ${path} failed: ${reason}`);
  }
}
