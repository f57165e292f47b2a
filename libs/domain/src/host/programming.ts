import {
  type BitstreamChecksumV1,
  DeployableProgrammed,
  type DeployableProgrammedV1,
  type DeviceProfileGroup,
  type ProgrammingRequestV1,
} from '@cyborg/contracts';
import { DomainError } from '../domain-error';
import type { HostEvent } from '@cyborg/contracts';
import type { HostState } from './host';
import type { DeployableState } from './inventory.state';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ProgrammingErrors = {
  both: (bitstream: string, fn: string) =>
    new DomainError(
      'invalid',
      'bitstream_and_function',
      `The device profile group asks for both accel:bitstream_id ${bitstream} and accel:function_id ${fn}; ask for one of them.`,
    ),
  badBitstreamId: (id: string) =>
    new DomainError('invalid', 'invalid_bitstream_id', `accel:bitstream_id must be an image uuid; got ${id}.`),
  busy: (deployable: string, holders: readonly string[]) =>
    new DomainError(
      'conflict',
      'deployable_in_use',
      `Deployable ${deployable} cannot be reprogrammed: ${holders.length} attach handle(s) of its device are in use by ${holders.join(', ')}.`,
    ),
  notProgrammable: (deployable: string, type: string) =>
    new DomainError(
      'conflict',
      'not_programmable',
      `Deployable ${deployable} is on a ${type} device, not an FPGA: it cannot be programmed with a bitstream.`,
    ),
  deployableNotFound: (uuid: string) =>
    new DomainError('not_found', 'deployable_not_found', `Deployable not found with uuid=${uuid}`),
} as const;

/**
 * What a group asks the device to be programmed with (Cyborg's
 * `accel:bitstream_id` / `accel:function_id`); null when nothing. Both at
 * once is refused, as upstream.
 */
export function programmingRequestOf(group: DeviceProfileGroup): ProgrammingRequestV1 | null | DomainError {
  const bitstreamId = group['accel:bitstream_id'];
  const functionId = group['accel:function_id'];
  if (bitstreamId !== undefined && functionId !== undefined) return ProgrammingErrors.both(bitstreamId, functionId);
  if (bitstreamId !== undefined) {
    if (!UUID.test(bitstreamId)) return ProgrammingErrors.badBitstreamId(bitstreamId);
    return { bitstreamId: bitstreamId.toLowerCase(), functionId: null };
  }
  if (functionId !== undefined) return { bitstreamId: null, functionId };
  return null;
}

/**
 * The programming a bind must do first: none when the deployable already
 * carries what is asked (programming is a cache, as upstream), refused when
 * another ARQ uses the same device (reprogramming would pull the function
 * from under its guest).
 */
export function decideBindProgramming(
  request: ProgrammingRequestV1,
  deployable: DeployableState,
  host: HostState,
  arqUuid: string,
): ProgrammingRequestV1 | null | DomainError {
  const unfit = notAnFpga(deployable, host);
  if (unfit) return unfit;
  if (request.bitstreamId !== null && deployable.bitstreamId === request.bitstreamId) return null;
  if (request.bitstreamId === null && request.functionId !== null && deployable.functionId === request.functionId)
    return null;
  const holders = holdersOnDevice(deployable, host).filter((arq) => arq !== arqUuid);
  if (holders.length > 0) return ProgrammingErrors.busy(deployable.name, holders);
  return request;
}

/** Only FPGAs take bitstreams: a profile asking one of a GPU is refused before any work. */
function notAnFpga(deployable: DeployableState, host: HostState): DomainError | null {
  const device = host.inventory.devices.get(deployable.deviceUuid);
  return device?.type === 'FPGA' ? null : ProgrammingErrors.notProgrammable(deployable.name, device?.type ?? 'unknown');
}

/** ARQs holding a handle on any deployable of the same device. */
export function holdersOnDevice(deployable: DeployableState, host: HostState): string[] {
  const onDevice = new Set(
    [...host.inventory.deployables.values()].filter((d) => d.deviceUuid === deployable.deviceUuid).map((d) => d.uuid),
  );
  return [...host.inventory.attachHandles.values()]
    .filter((h) => h.inUse && h.allocatedTo !== null && onDevice.has(h.deployableUuid))
    .map((h) => h.allocatedTo as string);
}

export interface ProgramDeployable {
  hostname: string;
  deployableUuid: string;
}

/** An operator's program request (`PATCH /deployables/{uuid}/program`): the deployable must be free. */
export function checkProgrammable(command: ProgramDeployable, host: HostState): DeployableState | DomainError {
  const deployable = host.inventory.deployables.get(command.deployableUuid);
  if (!deployable) return ProgrammingErrors.deployableNotFound(command.deployableUuid);
  const unfit = notAnFpga(deployable, host);
  if (unfit) return unfit;
  const holders = holdersOnDevice(deployable, host);
  if (holders.length > 0) return ProgrammingErrors.busy(deployable.name, holders);
  return deployable;
}

export interface ProgrammedBitstream {
  bitstreamId: string;
  functionId: string | null;
  checksum: BitstreamChecksumV1;
}

export interface RecordProgramming {
  hostname: string;
  deployableUuid: string;
  programmed: ProgrammedBitstream;
  arqUuid: string | null;
}

/** Records what the agent programmed; a deployable gone meanwhile records nothing. */
export function decideRecordProgramming(command: RecordProgramming, host: HostState): HostEvent[] {
  const deployable = host.inventory.deployables.get(command.deployableUuid);
  if (!deployable) return [];
  const { bitstreamId, functionId, checksum } = command.programmed;
  if (deployable.bitstreamId === bitstreamId && deployable.functionId === functionId) return [];
  const programmed: DeployableProgrammedV1 = {
    hostname: command.hostname,
    uuid: deployable.uuid,
    name: deployable.name,
    bitstreamId,
    functionId,
    functionTrait: functionId === null ? null : functionTrait(deployable.driverName, functionId),
    checksum: { algorithm: checksum.algorithm, value: checksum.value },
    arqUuid: command.arqUuid,
  };
  return [{ type: DeployableProgrammed.type, data: { ...programmed } }];
}

/**
 * Upstream's `CUSTOM_FPGA_FUNCTION_ID_<DRIVER>_<FUNCTION>`, made a valid
 * trait: upstream keeps `-` (as `_-`), which Placement refuses (§3.3).
 */
export function functionTrait(driverName: string, functionId: string): string {
  const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return `CUSTOM_FPGA_FUNCTION_ID_${part(driverName)}_${part(functionId)}`.slice(0, 255);
}
