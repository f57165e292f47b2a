import { IsArray, IsString, Matches, MaxLength } from 'class-validator';
import { CommandEnvelope } from '../caller';
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
}

export interface HeldHandle {
  /** The attach handle's uuid. */
  uuid: string;
  arqUuid: string;
}

export interface DeviceShape {
  deviceUuid: string;
  driverName: string;
  controlPathId: ControlPathIdV1;
  /** The vGPU type the device's last applied vGPU reshape gave it. */
  vgpuType: string;
}
