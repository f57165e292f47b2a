import { natsServerOptions } from './nats-servers';

describe('NATS_URL', () => {
  it('gives the credentials of its URLs to the connection, and keeps them out of the server list', () => {
    expect(natsServerOptions('nats://agent-compute-1:s%40cret:x@nats-a:4222, nats://nats-b:4222')).toEqual({
      servers: ['nats://nats-a:4222', 'nats://nats-b:4222'],
      user: 'agent-compute-1',
      pass: 's@cret:x',
    });
  });

  it('leaves URLs without credentials as they are', () => {
    expect(natsServerOptions('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
    expect(natsServerOptions(['127.0.0.1:4222', ' '])).toEqual({ servers: ['127.0.0.1:4222'] });
    expect(natsServerOptions('nats://token-only@127.0.0.1:4222')).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      user: 'token-only',
    });
  });
});
