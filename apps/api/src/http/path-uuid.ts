import { BadRequestException } from '@nestjs/common';
import { canonicalUuid } from '@cyborg/domain';

/**
 * A path segment typed as a uuid (Cyborg §1.4): the canonical form, or WSME's
 * 400 for a value that is not uuid-like.
 */
export function uuidPathParam(value: string, field = 'uuid'): string {
  const uuid = canonicalUuid(value);
  if (uuid) return uuid;
  throw new BadRequestException(
    `Invalid input for field/attribute ${field}. Value: '${value}'. unable to convert to uuid. ` +
      `Error: Expected a uuid but received ${value}.`,
  );
}
