// class-transformer's @Type reads decorator metadata when these classes are defined.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { CommandEnvelope } from '../caller';

/** Most ARQs one command touches: Nova binds an instance's few ARQs at once. */
export const MAX_ARQS_PER_COMMAND = 1000;

/** Create the ARQs a device profile asks for: one per requested unit of each group. */
export class CreateArqsCommand extends CommandEnvelope {
  @IsString()
  @MaxLength(1000)
  deviceProfileName: string;
}

export interface CreatedArq {
  uuid: string;
  deviceProfileName: string;
  deviceProfileGroupId: number;
  projectId: string | null;
  /** ISO 8601 */
  createdAt: string;
}

export interface CreateArqsResult {
  /** In group order, as Cyborg answers. */
  arqs: CreatedArq[];
}

/** One ARQ of a bind: the fields of Cyborg's PATCH `add` ops, uuids in canonical form. */
export class ArqBindingDto {
  @IsString()
  @MinLength(36)
  @MaxLength(36)
  uuid: string;

  /** Nova's compute node name; the host stream it names decides the allocation. */
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  hostname: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  deviceRpUuid: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  instanceUuid: string;

  /** An admin's `/project_id` (µv 2.1); otherwise the caller's project. */
  @IsOptional()
  @IsString()
  @MaxLength(255)
  projectId?: string;
}

/**
 * Bind ARQs: each is checked and, if its host can give it an attach handle,
 * allocated one in the same append that starts its bind. The host's agent
 * then confirms, and the ARQ ends `Bound` or `BindFailed`.
 */
export class BindArqsCommand extends CommandEnvelope {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ARQS_PER_COMMAND)
  @ValidateNested({ each: true })
  @Type(() => ArqBindingDto)
  bindings: ArqBindingDto[];
}

/** A refusal that ended an ARQ's bind at once (`BindFailed`): the API answers the PATCH with it. */
export interface BindFailure {
  arqUuid: string;
  status: number;
  code: string;
  message: string;
}

export interface BindArqsResult {
  /** ARQ uuid → its state once the command was decided: `BindStarted` or `BindFailed`. */
  states: Record<string, 'BindStarted' | 'BindFailed'>;
  /** The first bind that failed at once, in body order; null when every bind started. */
  failure: BindFailure | null;
}

export class UnbindArqsCommand extends CommandEnvelope {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_ARQS_PER_COMMAND)
  @IsString({ each: true })
  @MaxLength(36, { each: true })
  uuids: string[];
}

export interface UnbindArqsResult {
  unbound: string[];
}

/**
 * Delete ARQs, releasing what they hold. By uuid: all or nothing, an unknown
 * one refuses the command. By instance (`instanceUuid` set): the ARQs the API
 * found for the instance and those the instance's stream holds, skipping any
 * no longer bound to it; idempotent.
 */
export class DeleteArqsCommand extends CommandEnvelope {
  @IsArray()
  @ArrayMaxSize(MAX_ARQS_PER_COMMAND)
  @IsString({ each: true })
  @MaxLength(255, { each: true })
  uuids: string[];

  @IsOptional()
  @IsString()
  @MinLength(36)
  @MaxLength(36)
  instanceUuid?: string;
}

export interface DeleteArqsResult {
  deleted: string[];
}
