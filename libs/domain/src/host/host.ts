import {
  HostDown,
  type HostDownV1,
  HostRegistered,
  type HostRegisteredV1,
  HostUp,
  type HostUpV1,
} from '@cyborg/contracts';
import type { CyborgEvent, HostEvent } from '@cyborg/contracts';
import { evolveInventory, initialInventoryState, type InventoryState } from './inventory.state';

/** What the conductor knows of a host, folded from its stream. */
export interface HostState {
  registered: boolean;
  drivers: string[];
  agentVersion: string | null;
  /** Its agent missed its heartbeats: binds to it fail at once until it is heard again. */
  down: boolean;
  inventory: InventoryState;
}

export const initialHostState: HostState = {
  registered: false,
  drivers: [],
  agentVersion: null,
  down: false,
  inventory: initialInventoryState,
};

export function evolveHost(state: HostState, event: CyborgEvent): HostState {
  switch (event.type) {
    case HostRegistered.type: {
      const data = event.data;
      return { ...state, registered: true, drivers: data.drivers, agentVersion: data.agentVersion };
    }
    case HostDown.type:
      return { ...state, down: true };
    case HostUp.type:
      return { ...state, down: false };
    default: {
      const inventory = evolveInventory(state.inventory, event);
      return inventory === state.inventory ? state : { ...state, inventory };
    }
  }
}

export interface RegisterHost {
  hostname: string;
  drivers: string[];
  agentVersion: string;
}

/** An agent (re)starting with what is already known appends nothing. */
export function decideRegisterHost(command: RegisterHost, state: HostState): HostEvent[] {
  const drivers = [...new Set(command.drivers)].sort();
  if (state.registered && state.agentVersion === command.agentVersion && sameList(state.drivers, drivers)) return [];
  const data: HostRegisteredV1 = { hostname: command.hostname, drivers, agentVersion: command.agentVersion };
  return [{ type: HostRegistered.type, data: { ...data } }];
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A host whose agent went quiet is marked down once; a registered host only. */
export function decideHostDown(hostname: string, lastSeenAt: string | null, state: HostState): HostEvent[] {
  if (!state.registered || state.down) return [];
  const data: HostDownV1 = { hostname, lastSeenAt };
  return [{ type: HostDown.type, data: { ...data } }];
}

/** The agent was heard again (a heartbeat, a report, a registration). */
export function decideHostUp(hostname: string, state: HostState): HostEvent[] {
  if (!state.down) return [];
  const data: HostUpV1 = { hostname };
  return [{ type: HostUp.type, data: { ...data } }];
}
