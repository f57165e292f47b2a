import { IsIn, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { CommandEnvelope } from '../caller';
import type { DeviceStatusV1 } from '../events/inventory/device-events.v1';

/** Cyborg's device disable/enable (§7.4). The API resolves the device's host from its read model. */
export class SetDeviceStatusCommand extends CommandEnvelope {
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  deviceUuid: string;

  @IsIn(['enabled', 'maintaining'])
  status: DeviceStatusV1;
}

export interface SetDeviceStatusResult {
  /** False when the device already had that status. */
  changed: boolean;
}
