import type { ControlPathId, DiscoveredAttachHandle, DiscoveredDeployable, DiscoveredDevice } from './inventory';

/**
 * Something on the host a driver could not read. When it names a control path, that device's
 * state is unknown, not gone: the caller should keep what it last knew of it rather than report
 * it removed (removing an allocated device is what wedged upstream's reporting).
 */
export interface DiscoveryWarning {
  driver: string;
  controlPathId?: ControlPathId;
  message: string;
}

export interface Discovery {
  devices: DiscoveredDevice[];
  warnings: DiscoveryWarning[];
}

export interface DriverCallOptions {
  /** Aborting rejects the call with the signal's reason. */
  signal?: AbortSignal;
}

/** One attach handle of a bind: `uuid` is the attach handle's id, which also names its mdev. */
export interface AttachHandleTarget {
  uuid: string;
  deployableName: string;
  handle: DiscoveredAttachHandle;
}

export type BitstreamHashAlgorithm = 'sha512' | 'sha384' | 'sha256' | 'sha1' | 'md5';

/** A downloaded bitstream and the digest Glance published for it (`os_hash_algo`/`os_hash_value`). */
export interface Bitstream {
  path: string;
  checksum: { algorithm: BitstreamHashAlgorithm; value: string };
}

/** A refusal carries its reason, so a bind can end `BindFailed` with it instead of looking bound. */
export type ProgramResult = { ok: true } | { ok: false; reason: string };

/**
 * An accelerator driver: discovers one kind of device on this host and does the host-side
 * work of binding them.
 *
 * Contract:
 * - `discover()` returns a full snapshot. One device it cannot read is left out and named in
 *   `warnings`; it never fails the whole call, so one broken device never blocks the host's report.
 * - `discover()` rejects (with `DiscoveryFailedError`) only when it cannot tell what is on the
 *   host at all. The caller then keeps this driver's previous devices instead of reporting none.
 * - Operations are keyed by deployable name and attach info, the identities `discover()` reported.
 *   `prepareAttachHandle` and `releaseAttachHandle` are idempotent, so a retried bind or unbind
 *   is safe; they reject with `AttachHandleError` when the handle cannot be made ready.
 * - `program()` checks the bitstream's checksum before touching the device; expected failures
 *   resolve `{ ok: false, reason }`, only an abort rejects.
 */
export interface AcceleratorDriver {
  readonly name: string;
  discover(options?: DriverCallOptions): Promise<Discovery>;
  /** Makes the handle usable by a guest, e.g. creates its mdev. */
  prepareAttachHandle?(target: AttachHandleTarget, options?: DriverCallOptions): Promise<void>;
  /** Undoes `prepareAttachHandle`; releasing what was never prepared succeeds. */
  releaseAttachHandle?(target: AttachHandleTarget, options?: DriverCallOptions): Promise<void>;
  /**
   * At the agent's start, for a handle the log shows bound before and free now (its release may
   * never have reached the agent): undoes what `prepareAttachHandle` leaves, and only when the
   * host still shows exactly that (an mdev named by the handle's uuid, a VF of a type the
   * driver enables for it); anything else on the device is the operator's and left alone.
   * Idempotent.
   */
  clearReleasedAttachHandle?(target: AttachHandleTarget, options?: DriverCallOptions): Promise<void>;
  program?(
    deployable: Pick<DiscoveredDeployable, 'name'>,
    bitstream: Bitstream,
    options?: DriverCallOptions,
  ): Promise<ProgramResult>;
}

/** The driver could not tell what is on the host (unreadable or invalid configuration). */
export class DiscoveryFailedError extends Error {
  constructor(
    readonly driver: string,
    readonly problems: readonly string[],
  ) {
    super(`${driver} driver: discovery failed: ${problems.join('; ')}`);
    this.name = 'DiscoveryFailedError';
  }
}

export class AttachHandleError extends Error {
  constructor(
    readonly driver: string,
    message: string,
  ) {
    super(`${driver} driver: ${message}`);
    this.name = 'AttachHandleError';
  }
}

/** The driver's configuration is invalid (a malformed whitelist, a bad vGPU type list): the agent stops at start. */
export class DriverConfigurationError extends Error {
  constructor(
    readonly driver: string,
    readonly problems: readonly string[],
  ) {
    super(`${driver} driver: invalid configuration: ${problems.join('; ')}`);
    this.name = 'DriverConfigurationError';
  }
}
