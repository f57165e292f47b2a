// class-transformer's @Type reads decorator metadata when these classes are defined.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsArray, IsBoolean, IsOptional, IsString, MaxLength, ValidateNested } from 'class-validator';

/** Who asked: carried with every command and recorded on every event it causes. */
export class CallerDto {
  @IsOptional()
  @IsString()
  @MaxLength(255)
  userId?: string | null;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  projectId?: string | null;

  @IsArray()
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  roles: string[] = [];

  /** Set for a domain-scoped token (oslo.policy's `domain_id`). */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  domainId?: string | null;

  /** `all` for a system-scoped token; null for a project-scoped one. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  systemScope?: string | null;

  /** The request carried a valid service token (Nova, another service). */
  @IsBoolean()
  service = false;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  requestId?: string | null;
}

/** The envelope of every command sent to the conductor. */
export class CommandEnvelope {
  /** Chosen by the sender; a command replayed with the same id has no further effect. */
  @IsString()
  @MaxLength(255)
  commandId: string;

  @ValidateNested()
  @Type(() => CallerDto)
  caller: CallerDto;
}
