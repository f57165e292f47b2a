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
  return `cyborg.agent.${hostname.replace(/\./g, '_')}.${work}`;
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
} as const;

export const AgentWork = {
  ping: 'ping',
  /** Discover and report the inventory now, without waiting for the interval. */
  reportNow: 'report_now',
  /** Prepare an allocated attach handle for a guest (PrepareAttachHandleWork). */
  bind: 'bind',
  /** Undo that preparation after the handle was released (ReleaseAttachHandleWork). */
  unbind: 'unbind',
} as const;
