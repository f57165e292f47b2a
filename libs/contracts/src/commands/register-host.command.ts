import { IsArray, IsString, Matches, MaxLength } from 'class-validator';
import { CommandEnvelope } from '../caller';
import type { AttachHandleTypeV1 } from '../events/inventory/attach-handle-events.v1';
import type { ControlPathIdV1 } from '../events/inventory/device-events.v1';

/** An agent says it serves a host, with the drivers it loaded. */
export class RegisterHostCommand extends CommandEnvelope {
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  @IsArray()
  @IsString({ each: true })
  @MaxLength(64, { each: true })
  drivers: string[];

  @IsString()
  @MaxLength(64)
  agentVersion: string;
}

export interface RegisterHostResult {
  hostname: string;
  /** False when the host was already registered with the same drivers and version. */
  changed: boolean;
  /**
   * The host's attach handles held now, as its stream records them: an agent that restarted
   * leaves a handle another ARQ holds as that ARQ has it when a late release arrives.
   */
  heldHandles: HeldHandle[];
  /** What applied reshapes made of the host's devices, which the agent keeps across its restarts. */
  deviceShapes: DeviceShape[];
  /**
   * Attach handles the log shows bound before and free now: what their prepare left on the host
   * (a release sent while the agent was down never reached it) is the agent's to clear at start.
   * Absent from an older conductor.
   */
  releasedHandles?: ReleasedHandle[];
}

export interface HeldHandle {
  /** The attach handle's uuid. */
  uuid: string;
  arqUuid: string;
  /** The ARQ's bind attempt that holds it; absent when the log does not say (events written before it did). */
  attempt?: number;
}

export interface ReleasedHandle {
  /** The attach handle's uuid (an mdev the agent made for it is named by it). */
  uuid: string;
  type: AttachHandleTypeV1;
  info: string;
  deployableName: string;
  driverName: string;
}

/**
 * What applied reshapes made of a device, one member per kind, the last applied of each: a
 * MIG layout replaces the VFs and forgets the vGPU type applied before it.
 */
export interface DeviceShape {
  deviceUuid: string;
  driverName: string;
  controlPathId: ControlPathIdV1;
  /** The VF count of the last applied VF reshape. */
  numVfs?: number;
  /** The MIG layout of the last applied MIG reshape. */
  migProfiles?: string[];
  /** The vGPU type of the last applied vGPU reshape (after any MIG layout). */
  vgpuType?: string;
}
