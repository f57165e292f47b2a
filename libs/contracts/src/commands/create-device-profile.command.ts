import { IsArray, IsObject, IsOptional, IsString } from 'class-validator';
import { CommandEnvelope } from '../caller';
import type { DeviceProfileGroup } from '../events/device-profile-created.v1';

/**
 * Create a device profile. Only types are checked here; the Cyborg rules
 * (name pattern, group keys, traits, resource classes) belong to the domain,
 * which answers with Cyborg's own messages.
 */
export class CreateDeviceProfileCommand extends CommandEnvelope {
  /** Client-chosen uuid; the conductor picks one when absent. */
  @IsOptional()
  @IsString()
  uuid?: string;

  @IsString()
  name: string;

  @IsOptional()
  @IsString()
  description?: string | null;

  @IsArray()
  @IsObject({ each: true })
  groups: DeviceProfileGroup[];
}

/** The created profile, as the API shows it. */
export interface DeviceProfileResult {
  uuid: string;
  name: string;
  description: string | null;
  groups: DeviceProfileGroup[];
  /** ISO 8601 */
  createdAt: string;
}

export type CreateDeviceProfileResult = DeviceProfileResult;
