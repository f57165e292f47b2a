import { ArrayMaxSize, ArrayMinSize, IsArray, IsString, MaxLength } from 'class-validator';
import { CommandEnvelope } from '../caller';

/**
 * Delete device profiles, each named by uuid or by name (a uuid-like value is
 * a uuid, as in Cyborg). All or nothing: one unknown profile deletes none.
 */
export class DeleteDeviceProfileCommand extends CommandEnvelope {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(1000, { each: true })
  profiles: string[];
}

export interface DeleteDeviceProfileResult {
  /** Uuids of the deleted profiles, in the order asked. */
  deleted: string[];
}
