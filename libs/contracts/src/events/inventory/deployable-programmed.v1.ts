import type { Event } from '../event';
/**
 * Stream `host-<hostname>`: a deployable now carries a bitstream (Cyborg's
 * `deployable.bitstream_id`), programmed during a bind or by an operator. The
 * function trait replaces every `CUSTOM_FPGA_FUNCTION_ID*` trait of its
 * resource provider. Reports leave it alone: only programming changes it.
 */
export const DeployableProgrammed = { type: 'DeployableProgrammed', schemaVersion: 1 } as const;
/** An operator's program request began: no bind takes a handle of the deployable until it ends or its deadline passes. */
export const DeployableProgrammingStarted = { type: 'DeployableProgrammingStarted', schemaVersion: 1 } as const;
/** The program request failed; the deployable keeps what it carried (`bitstreamId` is what was asked). */
export const DeployableProgrammingFailed = { type: 'DeployableProgrammingFailed', schemaVersion: 1 } as const;

export type DeployableProgrammingStartedV1 = {
  hostname: string;
  uuid: string;
  name: string;
  bitstreamId: string;
  /** ISO 8601: the request has ended by then, whatever happened to its conductor. */
  deadline: string;
};

export type DeployableProgrammingFailedV1 = {
  hostname: string;
  uuid: string;
  name: string;
  bitstreamId: string;
  reason: string;
};

export type BitstreamChecksumV1 = {
  /** Glance's `os_hash_algo` (`sha512`, `sha256`) or `md5` for images with only `checksum`. */
  algorithm: string;
  value: string;
};

export type DeployableProgrammedV1 = {
  hostname: string;
  uuid: string;
  name: string;
  bitstreamId: string;
  /** The image's `accel:function_id`, when it has one. */
  functionId: string | null;
  /** `CUSTOM_FPGA_FUNCTION_ID_<DRIVER>_<FUNCTION>`; null without a function id. */
  functionTrait: string | null;
  /** What was verified before the device was touched. */
  checksum: BitstreamChecksumV1;
  /** The ARQ whose bind asked for it; null when an operator programmed the deployable. */
  arqUuid: string | null;
};

export type DeployableProgrammed = Event<typeof DeployableProgrammed.type, DeployableProgrammedV1>;
export type DeployableProgrammingStarted = Event<
  typeof DeployableProgrammingStarted.type,
  DeployableProgrammingStartedV1
>;
export type DeployableProgrammingFailed = Event<typeof DeployableProgrammingFailed.type, DeployableProgrammingFailedV1>;
