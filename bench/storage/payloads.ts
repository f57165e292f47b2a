import { randomUUID } from 'node:crypto';
import type { HostRegistered } from '@cyborg/contracts';
import type { EventMetadata, NewEvent } from '@cyborg/event-store';

/**
 * Event content for the append cases: HostRegistered as the agent writes it,
 * with metadata as the API records it. Both the engine and the baseline
 * append exactly these objects, so their jsonb payloads are the same size.
 */
export function hostRegistered(hostname: string, seq: number): NewEvent<HostRegistered> {
  return {
    type: 'HostRegistered',
    data: { hostname, drivers: ['intel_fpga', 'nvidia_gpu'], agentVersion: `2025.1.${seq % 1000}` },
  };
}

export function requestMetadata(): EventMetadata {
  return {
    userId: randomUUID(),
    projectId: randomUUID(),
    roles: ['admin', 'member'],
    service: false,
    requestId: `req-${randomUUID()}`,
    commandId: randomUUID(),
  };
}

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}
