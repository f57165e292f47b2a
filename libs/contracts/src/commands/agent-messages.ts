import type { CallerDto } from '../caller';
import { ConductorCommands, hostCommandSubject } from '../subjects';
import type { HeartbeatCommand } from './heartbeat.command';
import type { RegisterHostCommand } from './register-host.command';
import type { ReportedDevice } from './report-inventory.command';

/** Agents act as a service, not as a person. */
export const AGENT_CALLER: CallerDto = {
  userId: null,
  projectId: null,
  roles: ['service'],
  service: true,
  requestId: null,
};

/** What an agent reports about its host: the full snapshot and its hash. */
export interface InventorySnapshot {
  hostname: string;
  inventoryHash: string;
  devices: ReportedDevice[];
}

/** A message an agent sends the conductors, on its host's own subject. */
export interface AgentMessage<T> {
  subject: string;
  command: T;
}

/** The agent says it serves `hostname` with these drivers. */
export function registerHostMessage(
  hostname: string,
  drivers: string[],
  agentVersion: string,
): AgentMessage<RegisterHostCommand> {
  return {
    subject: hostCommandSubject(ConductorCommands.registerHost, hostname),
    command: { commandId: crypto.randomUUID(), caller: AGENT_CALLER, hostname, drivers, agentVersion },
  };
}

/** The agent's full snapshot; `generation` rises with every report of the host. */
export function reportInventoryMessage(
  snapshot: InventorySnapshot,
  generation: number,
): AgentMessage<InventorySnapshot & { commandId: string; caller: CallerDto; generation: number }> {
  return {
    subject: hostCommandSubject(ConductorCommands.reportInventory, snapshot.hostname),
    command: { commandId: crypto.randomUUID(), caller: AGENT_CALLER, generation, ...snapshot },
  };
}

/** The agent is alive. */
export function heartbeatMessage(hostname: string): AgentMessage<HeartbeatCommand> {
  return { subject: hostCommandSubject(ConductorCommands.heartbeat, hostname), command: { hostname } };
}
