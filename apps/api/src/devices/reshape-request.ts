// class-transformer's @Type reads decorator metadata when these classes are defined.
import 'reflect-metadata';
import { BadRequestException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from 'class-validator';
import {
  type DeviceReshapeSpecV1,
  MAX_MIG_PROFILES,
  MAX_RESHAPE_VFS,
  RESHAPE_WHEN_BUSY,
  type ReshapeWhenBusyV1,
} from '@cyborg/contracts';

/** `POST /v2/devices/{uuid}/reshape`: exactly one of the changes, and what to do while the device is busy. */
export class ReshapeRequestBody {
  @IsOptional()
  @IsString({ message: 'vgpu_type must be a string such as "nvidia-558" or "558"' })
  @Matches(/^[A-Za-z0-9_.-]{1,100}$/, {
    message: 'vgpu_type must be an mdev type such as "nvidia-558", or an NVIDIA vGPU type id such as "558"',
  })
  vgpu_type?: string;

  @IsOptional()
  @IsArray({ message: 'mig_profiles must be a list of MIG profile names such as ["3g.40gb", "1g.10gb"]' })
  @ArrayMinSize(1, { message: 'mig_profiles must name at least one MIG profile' })
  @ArrayMaxSize(MAX_MIG_PROFILES, { message: `mig_profiles may name at most ${MAX_MIG_PROFILES} GPU instances` })
  @IsString({ each: true, message: 'every MIG profile must be a string such as "1g.10gb"' })
  @Matches(/^[1-7]g\.[0-9]{1,3}gb(\+me)?$/, {
    each: true,
    message: 'every MIG profile must be named like "1g.10gb", "3g.40gb" or "1g.10gb+me"',
  })
  mig_profiles?: string[];

  @IsOptional()
  @IsInt({ message: 'num_vfs must be a whole number' })
  @Min(0, { message: 'num_vfs must be 0 or more' })
  @Max(MAX_RESHAPE_VFS, { message: `num_vfs must be at most ${MAX_RESHAPE_VFS}` })
  num_vfs?: number;

  @IsOptional()
  @IsIn(RESHAPE_WHEN_BUSY, { message: 'when_busy must be "wait" or "refuse"' })
  when_busy?: ReshapeWhenBusyV1;
}

const CHANGES = ['vgpu_type', 'mig_profiles', 'num_vfs'] as const;
const TYPE_CHECKS = ['isInt', 'isString', 'isArray', 'isIn'];

/** The body as a spec, or a 400 saying what to fix. */
export function parseReshapeRequest(body: unknown): { spec: DeviceReshapeSpecV1; whenBusy: ReshapeWhenBusyV1 } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException(
      'The request body must be a JSON object with one of vgpu_type, mig_profiles or num_vfs, and optionally when_busy.',
    );
  }
  const given = CHANGES.filter((key) => (body as Record<string, unknown>)[key] !== undefined);
  if (given.length !== 1) {
    throw new BadRequestException(
      given.length === 0
        ? 'Say what to change: give one of vgpu_type, mig_profiles or num_vfs.'
        : `A reshape changes one thing at a time; the body gives ${given.join(' and ')}.`,
    );
  }
  const request = plainToInstance(ReshapeRequestBody, body);
  const errors = validateSync(request, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw new BadRequestException(messagesOf(errors).join('; '));
  const spec: DeviceReshapeSpecV1 = {
    ...(request.vgpu_type !== undefined ? { vgpuType: request.vgpu_type } : {}),
    ...(request.mig_profiles !== undefined ? { migProfiles: [...request.mig_profiles] } : {}),
    ...(request.num_vfs !== undefined ? { numVfs: request.num_vfs } : {}),
  };
  return { spec, whenBusy: request.when_busy ?? 'refuse' };
}

function messagesOf(errors: readonly ValidationError[]): string[] {
  return errors.flatMap((e) => {
    if (e.constraints?.whitelistValidation) {
      return [`Unknown field ${e.property}: a reshape takes vgpu_type, mig_profiles, num_vfs and when_busy.`];
    }
    const constraints = e.constraints ?? {};
    // A value of the wrong type: say that alone, its range checks add nothing.
    const wrongType = TYPE_CHECKS.find((check) => constraints[check] !== undefined);
    return wrongType ? [constraints[wrongType]] : Object.values(constraints);
  });
}
