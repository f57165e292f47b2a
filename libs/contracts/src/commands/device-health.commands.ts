import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { CommandEnvelope } from '../caller';

/** An admin lifts the sticky fence of a device that has recovered (`POST /v2/devices/{uuid}/health/release`). */
export class ReleaseDeviceFenceCommand extends CommandEnvelope {
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  deviceUuid: string;
}

export interface ReleaseDeviceFenceResult {
  /** False when the device was not fenced. */
  changed: boolean;
}
