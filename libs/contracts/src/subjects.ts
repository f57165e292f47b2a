/** Queue group of the conductors: each command reaches exactly one of them. */
export const CONDUCTOR_QUEUE = 'conductor';

/** `cyborg.conductor.<command>`: requests from the API and agents to the conductor. */
export function conductorSubject(command: string): string {
  return `cyborg.conductor.${command}`;
}

/**
 * `cyborg.agent.<host>.<work>`: work for the one agent of a host. Dots in a
 * hostname would split the subject, so they become underscores (never valid
 * in a DNS hostname, so no two hosts share a subject).
 */
export function agentSubject(hostname: string, work: string): string {
  return `cyborg.agent.${hostToken(hostname)}.${work}`;
}

/** A hostname as one subject token: dots become underscores. */
export function hostToken(hostname: string): string {
  return hostname.replace(/\./g, '_');
}

/**
 * `cyborg.conductor.<command>.<host>`: what an agent says about its own host
 * (`register_host`, `report_inventory`). The host is in the subject so that
 * NATS permissions can let each agent publish only its own; the conductor
 * refuses a payload naming another host than the subject.
 */
export function hostCommandSubject(command: string, hostname: string): string {
  return `${conductorSubject(command)}.${hostToken(hostname)}`;
}

/** The conductor's subscription to a host command, for every host. */
export function hostCommandPattern(command: string): string {
  return `${conductorSubject(command)}.*`;
}

/**
 * Where an agent's requests get their replies (`<prefix>.<id>`): its own
 * inbox namespace, so an agent may be allowed to read replies to itself only.
 */
export function agentInboxPrefix(hostname: string): string {
  return `_INBOX_AGENT.${hostToken(hostname)}`;
}

export const ConductorCommands = {
  registerHost: 'register_host',
  createDeviceProfile: 'create_device_profile',
  deleteDeviceProfile: 'delete_device_profile',
  reportInventory: 'report_inventory',
  createArqs: 'create_arqs',
  bindArqs: 'bind_arqs',
  unbindArqs: 'unbind_arqs',
  deleteArqs: 'delete_arqs',
  setDeviceStatus: 'set_device_status',
  createAttribute: 'create_attribute',
  deleteAttribute: 'delete_attribute',
  programDeployable: 'program_deployable',
  releaseDeviceFence: 'release_device_fence',
  reshapeDevice: 'reshape_device',
  /** An agent's heartbeat, on `cyborg.conductor.heartbeat.<host>` (HeartbeatCommand). */
  heartbeat: 'heartbeat',
} as const;

export const AgentWork = {
  ping: 'ping',
  /** Discover and report the inventory now, without waiting for the interval. */
  reportNow: 'report_now',
  /** Prepare an allocated attach handle for a guest (PrepareAttachHandleWork). */
  bind: 'bind',
  /** Undo that preparation after the handle was released (ReleaseAttachHandleWork). */
  unbind: 'unbind',
  /** Program a deployable with a bitstream (ProgramDeployableWork). */
  program: 'program',
  /** Apply an admin's reshape of a device, then report the inventory (ReshapeDeviceWork). */
  reshape: 'reshape',
} as const;
