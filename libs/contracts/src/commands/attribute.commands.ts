import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { CommandEnvelope } from '../caller';

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/**
 * Cyborg §9 `POST /v2/attributes`: an operator's key/value on a deployable,
 * recorded on the deployable's host stream (source `api`). The API resolves
 * the deployable's host from its read model; the conductor checks the rest
 * (key and value rules, one key per deployable) against the host stream.
 */
export class CreateAttributeCommand extends CommandEnvelope {
  @IsString()
  @Matches(HOSTNAME, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  deployableUuid: string;

  @IsString()
  @MaxLength(1000)
  key: string;

  @IsString()
  @MaxLength(4000)
  value: string;
}

export interface CreateAttributeResult {
  uuid: string;
  deployableUuid: string;
  key: string;
  value: string;
}

/** Cyborg §9 `DELETE /v2/attributes/{uuid}`: only attributes made through the API. */
export class DeleteAttributeCommand extends CommandEnvelope {
  @IsString()
  @Matches(HOSTNAME, { message: 'hostname must be a DNS hostname' })
  hostname: string;

  @IsString()
  @MinLength(36)
  @MaxLength(36)
  attributeUuid: string;
}

export interface DeleteAttributeResult {
  uuid: string;
}
