import { decideRegisterHost, evolveHost, initialHostState } from './host';
import { fold } from '../domain-event';

describe('registering a host', () => {
  const command = { hostname: 'compute-1', drivers: ['simulated', 'fake'], agentVersion: '0.1.0' };

  it('records a new host with its drivers in a stable order', () => {
    expect(decideRegisterHost(command, initialHostState)).toEqual([
      {
        type: 'HostRegistered',
        data: { hostname: 'compute-1', drivers: ['fake', 'simulated'], agentVersion: '0.1.0' },
      },
    ]);
  });

  it('appends nothing when an agent restarts unchanged', () => {
    const state = fold(decideRegisterHost(command, initialHostState), evolveHost, initialHostState);
    expect(decideRegisterHost({ ...command, drivers: ['fake', 'simulated', 'fake'] }, state)).toEqual([]);
  });

  it('records a change of drivers or version', () => {
    const state = fold(decideRegisterHost(command, initialHostState), evolveHost, initialHostState);
    expect(decideRegisterHost({ ...command, drivers: ['fake'] }, state)).toHaveLength(1);
    expect(decideRegisterHost({ ...command, agentVersion: '0.2.0' }, state)).toHaveLength(1);
  });
});
