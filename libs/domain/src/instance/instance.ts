import { type CyborgEvent, InstanceArqsBound, InstanceArqsReleased } from '@cyborg/contracts';

/** Stream `instance-<uuid>`, folded: the ARQs bound to the instance now. */
export interface InstanceState {
  arqs: ReadonlySet<string>;
}

export const initialInstanceState: InstanceState = { arqs: new Set() };

export function evolveInstance(state: InstanceState, event: CyborgEvent): InstanceState {
  switch (event.type) {
    case InstanceArqsBound.type:
      return { arqs: new Set([...state.arqs, ...event.data.arqUuids]) };
    case InstanceArqsReleased.type: {
      const released = new Set(event.data.arqUuids);
      return { arqs: new Set([...state.arqs].filter((uuid) => !released.has(uuid))) };
    }
    default:
      return state;
  }
}
