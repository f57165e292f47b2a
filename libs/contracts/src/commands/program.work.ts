// class-transformer's @Type reads decorator metadata when these classes are defined.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsISO8601, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { CommandEnvelope } from '../caller';
import type { ProgrammingRequestV1 } from '../events/arq/arq-events.v1';
import type { BitstreamChecksumV1 } from '../events/inventory/deployable-programmed.v1';

/** What to program: a bitstream by its image id, or the one image that provides a function. */
export class ProgrammingRequestDto implements ProgrammingRequestV1 {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  bitstreamId: string | null = null;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  functionId: string | null = null;
}

/** What the agent programmed, after verifying the image's checksum. */
export interface ProgrammedBitstreamReply {
  bitstreamId: string;
  functionId: string | null;
  checksum: BitstreamChecksumV1;
}

/**
 * `cyborg.agent.<host>.program`: an operator's `PATCH /deployables/{uuid}/program`.
 * The job id makes a repeated request harmless.
 */
export class ProgramDeployableWork {
  @IsString()
  @MaxLength(100)
  jobId: string;

  @IsString()
  @MaxLength(255)
  deployableName: string;

  @IsString()
  @MaxLength(100)
  driverName: string;

  @ValidateNested()
  @Type(() => ProgrammingRequestDto)
  program: ProgrammingRequestDto;

  /** The agent gives up then; the conductor has already. */
  @IsISO8601()
  deadline: string;
}

/** Why programming failed, so the API can answer with the fitting status. */
export type ProgramProblem =
  'not_found' | 'ambiguous' | 'no_checksum' | 'checksum_mismatch' | 'unavailable' | 'driver' | 'no_source' | 'timeout';

export type ProgramWorkReply =
  { ok: true; programmed: ProgrammedBitstreamReply } | { ok: false; reason: string; problem?: ProgramProblem };

/** Cyborg's `PATCH /v2/deployables/{uuid}/program` (§8.4). The API resolves the deployable's host. */
export class ProgramDeployableCommand extends CommandEnvelope {
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  deployableUuid: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  bitstreamId: string;
}

export interface ProgramDeployableResult {
  /** False when the deployable already carried that bitstream (nothing was done). */
  programmed: boolean;
}
