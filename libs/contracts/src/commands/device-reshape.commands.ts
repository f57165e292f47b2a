// class-transformer's @Type reads decorator metadata when these classes are defined.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { CommandEnvelope } from '../caller';
import type { DeviceReshapeSpecV1, ReshapeWhenBusyV1 } from '../events/inventory/device-reshape.v1';
import { ControlPathIdDto } from './report-inventory.command';

/** The most VFs a PF offers (PCIe SR-IOV: 16-bit, real NICs stop at 256 per PF). */
export const MAX_RESHAPE_VFS = 256;
/** MIG: at most 7 GPU instances on one GPU (A100, H100, H200). */
export const MAX_MIG_PROFILES = 7;

export const RESHAPE_WHEN_BUSY: readonly ReshapeWhenBusyV1[] = ['wait', 'refuse'];

export class DeviceReshapeSpecDto implements DeviceReshapeSpecV1 {
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,100}$/, {
    message: 'vgpu_type must be an mdev type such as nvidia-558, or an NVIDIA vGPU type id such as 558',
  })
  vgpuType?: string;

  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_MIG_PROFILES)
  @IsString({ each: true })
  @Matches(/^[1-7]g\.[0-9]{1,3}gb(\+me)?$/, {
    each: true,
    message: 'every MIG profile must be named like 1g.10gb, 3g.40gb or 1g.10gb+me',
  })
  migProfiles?: string[];

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_RESHAPE_VFS)
  numVfs?: number;
}

/** An admin's `POST /v2/devices/{uuid}/reshape`; the API resolves the device's host. */
export class ReshapeDeviceCommand extends CommandEnvelope {
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  deviceUuid: string;

  @ValidateNested()
  @Type(() => DeviceReshapeSpecDto)
  spec: DeviceReshapeSpecDto;

  @IsIn(RESHAPE_WHEN_BUSY)
  whenBusy: ReshapeWhenBusyV1;
}

export type ReshapeState = 'applied' | 'waiting' | 'failed' | 'unchanged';

export interface ReshapeDeviceResult {
  reshapeId: string;
  state: ReshapeState;
  /** Why it failed; empty otherwise. */
  reasons: string[];
  /** ARQs it waits for (when_busy wait). */
  waitingFor: string[];
}

/** `cyborg.agent.<host>.reshape`: apply a reshape, then report the inventory. The job id makes a repeat harmless. */
export class ReshapeDeviceWork {
  @IsString()
  @MaxLength(100)
  jobId: string;

  @IsString()
  @MaxLength(100)
  driverName: string;

  @ValidateNested()
  @Type(() => ControlPathIdDto)
  controlPathId: ControlPathIdDto;

  @ValidateNested()
  @Type(() => DeviceReshapeSpecDto)
  spec: DeviceReshapeSpecDto;

  @IsISO8601()
  deadline: string;
}

export type ReshapeWorkReply = { ok: true } | { ok: false; reasons: string[] };
