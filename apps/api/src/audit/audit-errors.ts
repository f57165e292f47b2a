import { BadRequestException } from '@nestjs/common';
import { AuditInputError, EventMarkerNotFoundError } from '@cyborg/audit';

/** Runs an audit read; an operator's bad filter, time or marker is a 400 in Cyborg's shape. */
export async function auditRead<T>(read: () => Promise<T>, rawMarker?: string): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof EventMarkerNotFoundError) {
      throw new BadRequestException(`Marker ${rawMarker ?? error.marker} not found`);
    }
    if (error instanceof AuditInputError) throw new BadRequestException(error.message);
    throw error;
  }
}
