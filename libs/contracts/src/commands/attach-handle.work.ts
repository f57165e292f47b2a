// class-transformer's @Type reads decorator metadata when these classes are defined.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import type { HeldAttachHandleV1 } from '../events/arq/arq-events.v1';
import type { AttachHandleTypeV1 } from '../events/inventory/attach-handle-events.v1';
import { type ProgrammedBitstreamReply, ProgrammingRequestDto } from './program.work';

export class AttachHandleDto implements HeldAttachHandleV1 {
  @IsString()
  @MinLength(36)
  @MaxLength(36)
  uuid: string;

  @IsIn(['PCI', 'MDEV', 'TEST_PCI'])
  type: AttachHandleTypeV1;

  @IsString()
  @MaxLength(1024)
  info: string;

  @IsString()
  @MaxLength(36)
  deployableUuid: string;

  @IsString()
  @MaxLength(255)
  deployableName: string;

  @IsString()
  @MaxLength(36)
  deviceUuid: string;

  @IsString()
  @MaxLength(100)
  driverName: string;
}

/**
 * `cyborg.agent.<host>.bind`: make an allocated attach handle usable by a
 * guest (create its mdev; a PCI handle needs nothing). The job id is
 * `<arq uuid>:<attempt>`: the agent does one job once, however often asked.
 */
export class PrepareAttachHandleWork {
  @IsString()
  @MaxLength(100)
  jobId: string;

  @IsString()
  @MaxLength(36)
  arqUuid: string;

  @IsInt()
  @Min(1)
  attempt: number;

  /** The bind's deadline; the agent gives up then, the conductor has already. */
  @IsISO8601()
  deadline: string;

  @ValidateNested()
  @Type(() => AttachHandleDto)
  attachHandle: AttachHandleDto;

  /** Program the handle's deployable with this first (FPGA as a Service). */
  @IsOptional()
  @ValidateNested()
  @Type(() => ProgrammingRequestDto)
  program?: ProgrammingRequestDto;
}

/** `cyborg.agent.<host>.unbind`: undo the preparation once the handle is released (remove its mdev). */
export class ReleaseAttachHandleWork {
  @IsString()
  @MaxLength(100)
  jobId: string;

  @IsString()
  @MaxLength(36)
  arqUuid: string;

  /** The bind attempt whose handle this releases; absent from an older conductor (then the ARQ alone is matched). */
  @IsOptional()
  @IsInt()
  @Min(1)
  attempt?: number;

  @ValidateNested()
  @Type(() => AttachHandleDto)
  attachHandle: AttachHandleDto;
}

/** A refusal carries its reason, which the ARQ's `BindFailed` records. */
export type AttachHandleWorkReply = { ok: true; programmed?: ProgrammedBitstreamReply } | { ok: false; reason: string };
