import { IsArray, IsString, Matches, MaxLength } from 'class-validator';
import { CommandEnvelope } from '../caller';

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
}
