import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { Controller, Module, type INestApplicationContext, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { filter, firstValueFrom } from 'rxjs';
import { Ctx, MessagePattern, NatsContext, Payload, type ClientProxy } from '@nestjs/microservices';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { IsInt, IsString, Length, Min } from 'class-validator';
import {
  createRpcMicroservice,
  MessagingModule,
  RPC_CLIENT_PROXY,
  RpcClient,
  RpcFailure,
  type RpcError,
} from '@cyborg/messaging';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
// Unique per run so parallel runs on the same server never see each other.
const PREFIX = `cyborg.test.${randomUUID().replaceAll('-', '')}`;
const S = {
  echo: `${PREFIX}.echo`,
  missing: `${PREFIX}.missing`,
  syncThrow: `${PREFIX}.sync-throw`,
  asyncReject: `${PREFIX}.async-reject`,
  never: `${PREFIX}.never`,
  ping: `${PREFIX}.ping`,
  agentBind: `${PREFIX}.agent.host-1.bind`,
  queued: `${PREFIX}.queued`,
  nobody: `${PREFIX}.nobody`,
  linkedPing: `${PREFIX}.linked.ping`,
  foreignGarbage: `${PREFIX}.foreign.garbage`,
  foreignPlain: `${PREFIX}.foreign.plain`,
};
const LOGGER: ('error' | 'warn')[] | false = process.env.RPC_TEST_LOGS ? ['error', 'warn'] : false;

class EchoDto {
  @IsString()
  @Length(1, 64)
  name: string;

  @IsInt()
  @Min(0)
  count: number;
}

class LookupDto {
  @IsString()
  id: string;
}

interface EchoReply {
  name: string;
  count: number;
  isDto: boolean;
  requestId: string | null;
}

@Controller()
class TestController {
  echoCalls = 0;

  @MessagePattern(S.echo)
  echo(@Payload() dto: EchoDto, @Ctx() ctx: NatsContext): EchoReply {
    this.echoCalls += 1;
    return {
      name: dto.name,
      count: dto.count,
      isDto: dto instanceof EchoDto,
      requestId: ctx.getHeaders()?.get('x-request-id') || null,
    };
  }

  @MessagePattern(S.missing)
  missing(@Payload() dto: LookupDto): never {
    throw RpcFailure.notFound(`device ${dto.id} not found`, { details: { id: dto.id } });
  }

  @MessagePattern(S.syncThrow)
  syncThrow(): never {
    throw new Error('kaboom');
  }

  @MessagePattern(S.asyncReject)
  async asyncReject(): Promise<never> {
    await Promise.resolve();
    throw new TypeError('async kaboom');
  }

  @MessagePattern(S.never)
  never(): Promise<never> {
    // Never settles and holds no timer, so nothing keeps jest alive.
    return new Promise<never>(() => undefined);
  }

  @MessagePattern(S.ping)
  ping(): { pong: true } {
    return { pong: true };
  }

  @MessagePattern(S.agentBind)
  bind(@Payload() dto: LookupDto): { bound: string } {
    return { bound: dto.id };
  }
}

@Module({ controllers: [TestController] })
class ServerModule {}

@Controller()
class QueueController {
  calls = 0;

  @MessagePattern(S.queued)
  handle(@Payload() dto: LookupDto): { id: string } {
    this.calls += 1;
    return { id: dto.id };
  }
}

@Module({ controllers: [QueueController] })
class QueueModule {}

@Controller()
class LinkedController {
  @MessagePattern(S.linkedPing)
  ping(): { pong: true } {
    return { pong: true };
  }
}

@Module({ controllers: [LinkedController] })
class LinkedModule {}

@Module({ imports: [MessagingModule.forRoot({ servers: NATS_URL, name: 'rpc-spec-client' })] })
class ClientModule {}

// Nothing listens on port 1: every connect is refused.
@Module({ imports: [MessagingModule.forRoot({ servers: 'nats://127.0.0.1:1', name: 'rpc-spec-down' })] })
class DownClientModule {}

/** TCP forwarder to NATS that the test can cut and restore to simulate an outage. */
class NatsLink {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: URL) {}

  async open(): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = new Socket();
      this.track(inbound);
      this.track(outbound);
      outbound.connect(Number(this.target.port || 4222), this.target.hostname);
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) {
      socket.destroy();
    }
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }
}

async function rejection(promise: Promise<unknown>): Promise<RpcFailure> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(RpcFailure);
    return err as RpcFailure;
  }
  throw new Error('expected the request to fail');
}

interface RawReply {
  id?: string;
  err?: RpcError;
  response?: unknown;
  isDisposed?: boolean;
}

function subscriptionCount(proxy: ClientProxy): number {
  // Internal of @nats-io/nats-core, read only to prove nothing leaks.
  const nc = proxy.unwrap<{ protocol: { subscriptions: { size(): number } } }>();
  return nc.protocol.subscriptions.size();
}

describe('messaging RPC over NATS', () => {
  let server: INestMicroservice;
  const queueServers: INestMicroservice[] = [];
  let clientApp: INestApplicationContext;
  let downApp: INestApplicationContext;
  let rpc: RpcClient;
  let raw: NatsConnection;

  async function rawRequest(subject: string, body: string | Uint8Array): Promise<RawReply> {
    const msg = await raw.request(subject, body, { timeout: 2000 });
    return JSON.parse(msg.string()) as RawReply;
  }

  beforeAll(async () => {
    server = await createRpcMicroservice(
      ServerModule,
      { servers: NATS_URL, name: 'rpc-spec-server' },
      { logger: LOGGER },
    );
    await server.listen();
    for (const n of [1, 2]) {
      const app = await createRpcMicroservice(
        QueueModule,
        { servers: NATS_URL, queue: `${PREFIX}.q`, name: `rpc-spec-queue-${n}` },
        { logger: LOGGER },
      );
      await app.listen();
      queueServers.push(app);
    }
    clientApp = await NestFactory.createApplicationContext(ClientModule, { logger: LOGGER });
    await clientApp.init();
    rpc = clientApp.get(RpcClient);
    downApp = await NestFactory.createApplicationContext(DownClientModule, { logger: LOGGER });
    await downApp.init();
    raw = await connect({ servers: NATS_URL, name: 'rpc-spec-raw' });
    // The servers subscribed before listen() resolved; flush makes sure the
    // NATS server has processed it all before the first request.
    await raw.flush();
  });

  afterAll(async () => {
    await raw?.close();
    await downApp?.close();
    await clientApp?.close();
    for (const app of queueServers) {
      await app.close();
    }
    await server?.close();
  });

  // Jest 30 fails the running test on any unhandled rejection, so "does not
  // crash" is also checked implicitly by every test below.

  it('round-trips a valid DTO and transforms it into the DTO class', async () => {
    const reply = await rpc.request<EchoReply>(S.echo, { name: 'fpga-0', count: 3 });
    expect(reply).toEqual({ name: 'fpga-0', count: 3, isDto: true, requestId: null });
  });

  it('passes headers and works with dotted agent-style subjects', async () => {
    const headers = { 'x-request-id': 'req-42' };
    const reply = await rpc.request<EchoReply>(S.echo, { name: 'gpu', count: 0 }, { headers });
    expect(reply.requestId).toBe('req-42');
    await expect(rpc.request(S.agentBind, { id: 'dev-1' })).resolves.toEqual({ bound: 'dev-1' });
  });

  it('rejects an invalid DTO with invalid_message 400 naming the field', async () => {
    const failure = await rejection(rpc.request(S.echo, { name: 42, count: 1 }));
    expect(failure.code).toBe('invalid_message');
    expect(failure.status).toBe(400);
    expect(failure.message).toContain('name');
    expect(failure.message).not.toContain('count');

    const extra = await rejection(rpc.request(S.echo, { name: 'x', count: 1, admin: true }));
    expect(extra).toMatchObject({ code: 'invalid_message', status: 400 });
    expect(extra.message).toContain('admin');
  });

  it('carries a domain RpcFailure (not found) to the client unchanged', async () => {
    const failure = await rejection(rpc.request(S.missing, { id: 'abc' }));
    expect(failure).toMatchObject({ code: 'not_found', status: 404, message: 'device abc not found' });
    expect(failure.details).toEqual({ id: 'abc' });
  });

  it('turns plain errors into internal 500 without stack and keeps serving', async () => {
    const sync = await rejection(rpc.request(S.syncThrow, {}));
    expect(sync).toMatchObject({ code: 'internal', status: 500, message: 'kaboom' });
    expect(sync.message).not.toMatch(/\n\s+at /);

    const rejected = await rejection(rpc.request(S.asyncReject, {}));
    expect(rejected).toMatchObject({ code: 'internal', status: 500, message: 'async kaboom' });

    await expect(rpc.request(S.echo, { name: 'after', count: 1 })).resolves.toMatchObject({ name: 'after' });
  });

  it('answers raw garbage published with a reply inbox with invalid_message', async () => {
    const garbage = await rawRequest(S.echo, 'not json{');
    expect(garbage.err).toMatchObject({ code: 'invalid_message', status: 400 });
    expect(garbage.err?.message).toContain('not valid JSON');

    const bodies: (string | Uint8Array)[] = [
      '',
      '42',
      'null',
      '"text"',
      '[1,2]',
      '{"foo":1}',
      '{"pattern":"x","data":"not an object"}',
      '{"id":"abc","pattern":"x","data":{"name":7,"count":1}}',
      new Uint8Array([0xff, 0xfe, 0x7b]),
    ];
    for (const body of bodies) {
      const reply = await rawRequest(S.echo, body);
      expect({ body: String(body), err: reply.err?.code, status: reply.err?.status }).toEqual({
        body: String(body),
        err: 'invalid_message',
        status: 400,
      });
    }
    // Handlers without a payload parameter are protected by the interceptor.
    const ping = await rawRequest(S.ping, 'not json{');
    expect(ping.err).toMatchObject({ code: 'invalid_message', status: 400 });

    // A bare, valid JSON body from a non-Nest sender is accepted as the payload.
    const bare = await rawRequest(S.echo, JSON.stringify({ name: 'bare', count: 2 }));
    expect(bare.response).toMatchObject({ name: 'bare', count: 2 });

    // Fire-and-forget garbage (no reply inbox) must not hurt either.
    raw.publish(S.echo, 'not json{');
    raw.publish(S.echo, '{"foo":1}');
    await raw.flush();

    await expect(rpc.request(S.echo, { name: 'still-alive', count: 1 })).resolves.toMatchObject({
      name: 'still-alive',
    });
  });

  it('times out with timeout 504 and leaves no subscription behind', async () => {
    const proxy = clientApp.get<ClientProxy>(RPC_CLIENT_PROXY);
    await rpc.request(S.ping, {});
    const before = subscriptionCount(proxy);
    const started = Date.now();
    const failure = await rejection(rpc.request(S.never, {}, { timeoutMs: 300 }));
    expect(failure).toMatchObject({ code: 'timeout', status: 504 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(subscriptionCount(proxy)).toBe(before);
  });

  it('delivers each request to exactly one member of a queue group', async () => {
    const total = 40;
    const ids = Array.from({ length: total }, (_, i) => `req-${i}`);
    const replies = await Promise.all(ids.map((id) => rpc.request<{ id: string }>(S.queued, { id })));
    expect(replies.map((r) => r.id)).toEqual(ids);
    // Give a duplicate delivery (if any) time to show up in the counters.
    await raw.flush();
    const counts = queueServers.map((app) => app.get(QueueController).calls);
    expect(counts[0] + counts[1]).toBe(total);
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
  });

  it('maps no responders to unavailable 503', async () => {
    const failure = await rejection(rpc.request(S.nobody, { id: 'x' }, { timeoutMs: 2000 }));
    expect(failure).toMatchObject({ code: 'unavailable', status: 503 });
    expect(failure.details).toEqual({ reason: 'no_responders' });
  });

  it('maps an unreachable NATS server to unavailable 503', async () => {
    const down = downApp.get(RpcClient);
    const failure = await rejection(down.request(S.echo, { name: 'x', count: 1 }, { timeoutMs: 2000 }));
    expect(failure).toMatchObject({ code: 'unavailable', status: 503 });
    expect(failure.details).toEqual({ reason: 'disconnected' });
  });

  it('answers unavailable while disconnected and recovers after reconnecting', async () => {
    const link = new NatsLink(new URL(NATS_URL));
    await link.open();
    const app = await NestFactory.createApplicationContext(
      MessagingModule.forRoot({ servers: `nats://127.0.0.1:${link.port}`, name: 'rpc-spec-link', reconnectTimeWaitMs: 100 }),
      { logger: LOGGER },
    );
    try {
      await app.init();
      const client = app.get(RpcClient);
      const proxy = app.get<ClientProxy>(RPC_CLIENT_PROXY);
      await expect(client.request(S.echo, { name: 'via-link', count: 1 })).resolves.toMatchObject({ name: 'via-link' });

      const disconnected = firstValueFrom(proxy.status.pipe(filter((s) => s === 'disconnected')));
      await link.cut();
      await disconnected;
      const failure = await rejection(client.request(S.echo, { name: 'x', count: 1 }, { timeoutMs: 1000 }));
      expect(failure).toMatchObject({ code: 'unavailable', status: 503 });
      expect(failure.details).toEqual({ reason: 'disconnected' });

      const reconnected = firstValueFrom(proxy.status.pipe(filter((s) => s === 'connected')));
      await link.open();
      await reconnected;
      await expect(client.request(S.echo, { name: 'back', count: 1 })).resolves.toMatchObject({ name: 'back' });
    } finally {
      await app.close();
      await link.cut();
    }
  });

  it('keeps a microservice subscribed across a NATS outage', async () => {
    const link = new NatsLink(new URL(NATS_URL));
    await link.open();
    const app = await createRpcMicroservice(
      LinkedModule,
      { servers: `nats://127.0.0.1:${link.port}`, name: 'rpc-spec-linked', reconnectTimeWaitMs: 100 },
      { logger: LOGGER },
    );
    try {
      await app.listen();
      await raw.flush();
      await expect(rpc.request(S.linkedPing, {})).resolves.toEqual({ pong: true });

      const disconnected = firstValueFrom(app.status.pipe(filter((s) => s === 'disconnected')));
      await link.cut();
      await disconnected;
      // NATS may not have dropped the dead connection's interest yet: then the
      // request goes nowhere and times out instead of "no responders".
      const failure = await rejection(rpc.request(S.linkedPing, {}, { timeoutMs: 1000 }));
      expect(['unavailable', 'timeout']).toContain(failure.code);

      const reconnected = firstValueFrom(app.status.pipe(filter((s) => s === 'connected')));
      await link.open();
      await reconnected;
      // The client library resubscribes on reconnect; the NATS server may need
      // a moment to process it, so allow a few attempts.
      let reply: unknown;
      for (let attempt = 0; attempt < 20 && reply === undefined; attempt += 1) {
        reply = await rpc.request(S.linkedPing, {}, { timeoutMs: 500 }).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return undefined;
        });
      }
      expect(reply).toEqual({ pong: true });
    } finally {
      await app.close();
      await link.cut();
    }
  });

  it('fails with bad_reply 502 when a foreign responder answers garbage', async () => {
    const garbage = raw.subscribe(S.foreignGarbage, {
      callback: (_err, msg) => {
        msg.respond('<html>oops');
      },
    });
    const plain = raw.subscribe(S.foreignPlain, {
      callback: (_err, msg) => {
        msg.respond(JSON.stringify({ ok: 1 }));
      },
    });
    await raw.flush();
    try {
      const failure = await rejection(rpc.request(S.foreignGarbage, {}, { timeoutMs: 2000 }));
      expect(failure).toMatchObject({ code: 'bad_reply', status: 502 });
      // A plain JSON reply without Nest's envelope is the result itself.
      await expect(rpc.request(S.foreignPlain, {})).resolves.toEqual({ ok: 1 });
    } finally {
      garbage.unsubscribe();
      plain.unsubscribe();
    }
  });

  it('rejects subjects with wildcards or empty tokens before sending', async () => {
    for (const subject of ['cyborg.agent.*.bind', 'cyborg..x', 'cyborg.agent.>', 'has space']) {
      const failure = await rejection(rpc.request(subject, {}));
      expect(failure).toMatchObject({ code: 'invalid_subject', status: 400 });
    }
  });
});
