// class-transformer's @Type reads decorator metadata when these classes are defined.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  Equals,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateNested,
} from 'class-validator';
import { CommandEnvelope } from '../caller';
import type {
  AttachHandleTypeV1,
  DeviceHealthReasonV1,
  DeviceHealthStatusV1,
  DeviceTypeV1,
  PciAddressV1,
} from '../events/inventory/index';

// Sized for the largest real hosts (SR-IOV NICs with 256 VFs per PF) while
// keeping one report well inside a NATS message and one append.
export const INVENTORY_LIMITS = {
  devices: 256,
  deployablesPerDevice: 1024,
  attachHandlesPerDeployable: 1024,
  attributesPerDeployable: 64,
  healthReasonsPerDevice: 32,
  evidencePerReason: 32,
} as const;

/** The snapshot's shape, mirroring the drivers' inventory model (`DiscoveredDevice` and its tree). */
export interface ReportedAttribute {
  key: string;
  value: string;
}

export interface ReportedAttachHandle {
  type: AttachHandleTypeV1;
  info: string;
  inUse?: false;
}

export interface ReportedDeployable {
  name: string;
  numAccelerators: number;
  driverName: string;
  parentName?: string;
  attributes: readonly ReportedAttribute[];
  attachHandles: readonly ReportedAttachHandle[];
}

/** A device's health as its driver saw it; absent means healthy (agents before health reported none). */
export interface ReportedDeviceHealth {
  status: DeviceHealthStatusV1;
  reasons: readonly DeviceHealthReasonV1[];
}

export interface ReportedDevice {
  type: DeviceTypeV1;
  vendor: string;
  model: string;
  std_board_info: string | null;
  vendor_board_info: string | null;
  controlPathId: { type: 'PCI'; info: PciAddressV1 };
  driverName: string;
  deployables: readonly ReportedDeployable[];
  health?: ReportedDeviceHealth;
}

const DEVICE_TYPES: readonly DeviceTypeV1[] = ['GPU', 'FPGA', 'AICHIP', 'QAT', 'NIC', 'SSD'];
const ATTACH_HANDLE_TYPES: readonly AttachHandleTypeV1[] = ['PCI', 'MDEV', 'TEST_PCI'];

export class PciAddressDto implements PciAddressV1 {
  @IsString()
  @Matches(/^[0-9a-f]{4}$/, { message: 'domain must be 4 lower-case hex digits' })
  domain: string;

  @IsString()
  @Matches(/^[0-9a-f]{2}$/, { message: 'bus must be 2 lower-case hex digits' })
  bus: string;

  @IsString()
  @Matches(/^[0-9a-f]{2}$/, { message: 'device must be 2 lower-case hex digits' })
  device: string;

  @IsString()
  @Matches(/^[0-7]$/, { message: 'function must be a digit 0-7' })
  function: string;
}

export class ControlPathIdDto {
  @IsIn(['PCI'])
  type: 'PCI';

  @ValidateNested()
  @Type(() => PciAddressDto)
  info: PciAddressDto;
}

const HEALTH_STATUSES: readonly DeviceHealthStatusV1[] = ['healthy', 'degraded', 'unhealthy'];

/** A reason's evidence: at most 32 short keys, each a string (up to 1024), a finite number or a boolean. */
function IsHealthEvidence() {
  return ValidateBy({
    name: 'isHealthEvidence',
    validator: {
      validate: (value: unknown) => {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
        const entries = Object.entries(value);
        return (
          entries.length <= INVENTORY_LIMITS.evidencePerReason &&
          entries.every(
            ([key, v]) =>
              /^[A-Za-z0-9_.:/-]{1,64}$/.test(key) &&
              ((typeof v === 'string' && v.length <= 1024) ||
                (typeof v === 'number' && Number.isFinite(v)) ||
                typeof v === 'boolean'),
          )
        );
      },
      defaultMessage: () =>
        `evidence must be an object of at most ${INVENTORY_LIMITS.evidencePerReason} keys (letters, digits, _ . : / -) to strings, numbers or booleans`,
    },
  });
}

export class DeviceHealthReasonDto implements DeviceHealthReasonV1 {
  @IsString()
  @Matches(/^[a-z0-9_]{1,64}$/, { message: 'a health reason code is lower-case letters, digits and _ (e.g. xid)' })
  code: string;

  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  message: string;

  @IsOptional()
  @IsObject()
  @IsHealthEvidence()
  evidence?: Record<string, string | number | boolean>;
}

export class ReportedDeviceHealthDto implements ReportedDeviceHealth {
  @IsIn(HEALTH_STATUSES)
  status: DeviceHealthStatusV1;

  @IsArray()
  @ArrayMaxSize(INVENTORY_LIMITS.healthReasonsPerDevice)
  @ValidateNested({ each: true })
  @Type(() => DeviceHealthReasonDto)
  reasons: DeviceHealthReasonDto[];
}

/** `rc` = resource class; any key starting with `trait` = a trait. */
export class ReportedAttributeDto implements ReportedAttribute {
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  key: string;

  @IsString()
  @MaxLength(1024)
  value: string;
}

export class ReportedAttachHandleDto implements ReportedAttachHandle {
  @IsIn(ATTACH_HANDLE_TYPES)
  type: AttachHandleTypeV1;

  /** Upstream's `attach_info` JSON string; compared byte for byte. */
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  info: string;

  /** Drivers never report a handle in use: allocation is the conductor's record. */
  @IsOptional()
  @Equals(false)
  inUse?: false;
}

export class ReportedDeployableDto implements ReportedDeployable {
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  name: string;

  @IsInt()
  @Min(0)
  @Max(1_000_000)
  numAccelerators: number;

  @IsString()
  @MaxLength(100)
  driverName: string;

  /** The PF deployable of a VF, on the same device. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(255)
  parentName?: string;

  @IsArray()
  @ArrayMaxSize(INVENTORY_LIMITS.attributesPerDeployable)
  @ValidateNested({ each: true })
  @Type(() => ReportedAttributeDto)
  attributes: ReportedAttributeDto[];

  @IsArray()
  @ArrayMaxSize(INVENTORY_LIMITS.attachHandlesPerDeployable)
  @ValidateNested({ each: true })
  @Type(() => ReportedAttachHandleDto)
  attachHandles: ReportedAttachHandleDto[];
}

export class ReportedDeviceDto implements ReportedDevice {
  @IsIn(DEVICE_TYPES)
  type: DeviceTypeV1;

  @IsString()
  @MinLength(1)
  @MaxLength(255)
  vendor: string;

  @IsString()
  @MaxLength(255)
  model: string;

  // Snake case as in the drivers' model and upstream's DriverDevice.
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  std_board_info: string | null;

  @IsOptional()
  @IsString()
  @MaxLength(4096)
  vendor_board_info: string | null;

  @ValidateNested()
  @Type(() => ControlPathIdDto)
  controlPathId: ControlPathIdDto;

  @IsString()
  @MinLength(1)
  @MaxLength(100)
  driverName: string;

  @IsArray()
  @ArrayMaxSize(INVENTORY_LIMITS.deployablesPerDevice)
  @ValidateNested({ each: true })
  @Type(() => ReportedDeployableDto)
  deployables: ReportedDeployableDto[];

  /** Absent: healthy, so agents that report no health still work. */
  @IsOptional()
  @ValidateNested()
  @Type(() => ReportedDeviceHealthDto)
  health?: ReportedDeviceHealthDto;
}

/**
 * A report without its devices: what the conductor validates first, so that
 * an unchanged report (the hash matches the recorded one) is answered without
 * validating the whole snapshot.
 */
export class ReportInventoryHeader extends CommandEnvelope {
  @IsString()
  @Matches(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  /** Rises with every report of the agent, across restarts; a lower one than recorded is stale. */
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  generation: number;

  /** sha256 (hex) of the canonical snapshot, as the drivers library computes it. */
  @IsString()
  @Matches(/^[0-9a-f]{64}$/, { message: 'inventoryHash must be a sha256 hex digest' })
  inventoryHash: string;
}

/**
 * An agent's full snapshot of its host, never a delta. The conductor appends
 * only what changed, and nothing when the hash matches the recorded one.
 */
export class ReportInventoryCommand extends ReportInventoryHeader {
  @IsArray()
  @ArrayMaxSize(INVENTORY_LIMITS.devices)
  @ValidateNested({ each: true })
  @Type(() => ReportedDeviceDto)
  devices: ReportedDeviceDto[];
}

export interface ReportInventoryResult {
  hostname: string;
  /** False when the report matched the recorded inventory: nothing was appended. */
  changed: boolean;
  /** The generation recorded for the host after this report. */
  generation: number;
  /** How many events this report appended. */
  events: number;
}

/** Codes of the refusals an agent acts on. */
export const ReportInventoryErrors = {
  /** Details: `StaleInventoryReport`. The agent continues above the recorded generation. */
  staleReport: 'stale_inventory_report',
  /** The host stream has no HostRegistered: the agent registers again first. */
  hostNotRegistered: 'host_not_registered',
} as const;

export interface StaleInventoryReport {
  recordedGeneration: number;
}
