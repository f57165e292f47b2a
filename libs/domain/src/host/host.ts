import { HostRegistered, type HostRegisteredV1 } from '@cyborg/contracts';
import type { DomainEvent } from '../domain-event';
import { evolveInventory, initialInventoryState, type InventoryState } from './inventory.state';

/** What the conductor knows of a host, folded from its stream. */
export interface HostState {
  registered: boolean;
  drivers: string[];
  agentVersion: string | null;
  inventory: InventoryState;
}

export const initialHostState: HostState = {
  registered: false,
  drivers: [],
  agentVersion: null,
  inventory: initialInventoryState,
};

export function evolveHost(state: HostState, event: DomainEvent): HostState {
  switch (event.type) {
    case HostRegistered.type: {
      const data = event.data as unknown as HostRegisteredV1;
      return { ...state, registered: true, drivers: data.drivers, agentVersion: data.agentVersion };
    }
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
export function decideRegisterHost(command: RegisterHost, state: HostState): DomainEvent[] {
  const drivers = [...new Set(command.drivers)].sort();
  if (state.registered && state.agentVersion === command.agentVersion && sameList(state.drivers, drivers)) return [];
  const data: HostRegisteredV1 = { hostname: command.hostname, drivers, agentVersion: command.agentVersion };
  return [{ type: HostRegistered.type, data: { ...data } }];
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
