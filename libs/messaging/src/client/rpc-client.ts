import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, NatsRecordBuilder } from '@nestjs/microservices';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { lastValueFrom, throwError, timeout } from 'rxjs';
import { currentLogContext } from '@cyborg/config';
import { processMetrics } from '@cyborg/metrics';
import { isRpcError, RpcFailure } from '../rpc-error';
import { assertValidSubject } from '../subjects';
import { MESSAGING_OPTIONS, RPC_CLIENT_PROXY } from './tokens';

export const DEFAULT_RPC_TIMEOUT_MS = 5000;

export interface RpcRequestOptions {
  /** Whole-request budget including connecting; default 5000 ms. */
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export interface RpcClientSettings {
  defaultTimeoutMs?: number;
}

// Errors of @nats-io and Nest that mean "nobody can answer right now". Names,
// not classes: Nest loads the NATS package through its own require.
const CONNECTION_ERROR_NAMES = new Set(['ConnectionError', 'ClosedConnectionError', 'DrainingConnectionError']);
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT']);

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : '';
}

function isNoResponders(err: unknown): boolean {
  if (!(err instanceof Error)) {
    return false;
  }
  // Nest turns the server's empty 503 status reply into EmptyResponseException.
  return (
    err.name === 'NoResponders' ||
    err.constructor.name === 'EmptyResponseException' ||
    err.message.startsWith('Empty response.')
  );
}

function isDisconnected(err: unknown): boolean {
  if (typeof err === 'string') {
    // Nest rejects with this string while the client is reconnecting.
    return err.includes('Connection lost');
  }
  if (!(err instanceof Error)) {
    return false;
  }
  const code: unknown = (err as Error & { code?: unknown }).code;
  return (
    CONNECTION_ERROR_NAMES.has(err.name) ||
    (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) ||
    err.message === 'Connection closed'
  );
}

/** Maps whatever the transport or the peer produced into an `RpcFailure`. */
export function toRpcFailure(err: unknown, subject: string): RpcFailure {
  if (err instanceof RpcFailure) {
    return err;
  }
  if (isRpcError(err)) {
    return RpcFailure.fromRpcError(err);
  }
  if (typeof err === 'string' && err.includes('no matching message handler')) {
    // Nest's NO_MESSAGE_HANDLER reply: the subject is served, the pattern is not.
    return RpcFailure.unavailable(`no handler for ${subject}`, { details: { reason: 'no_handler' } });
  }
  if (isNoResponders(err)) {
    return RpcFailure.unavailable(`no responders on ${subject}`, { details: { reason: 'no_responders' } });
  }
  if (isDisconnected(err)) {
    return RpcFailure.unavailable(`messaging is unavailable: ${err instanceof Error ? err.message : String(err)}`, {
      details: { reason: 'disconnected' },
    });
  }
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    // A peer without our filter answers Nest's `{ status: 'error', message }`.
    const message = (err as { message: string }).message;
    return RpcFailure.internal(message, { details: { reason: errorName(err) || 'remote' } });
  }
  return RpcFailure.internal(`request on ${subject} failed: ${String(err)}`);
}

/** The header that carries OpenStack's request id to the service answering (the agent, for a bind). */
export const REQUEST_ID_HEADER = 'X-Openstack-Request-Id';

/** The request id of the work running now travels with every request it sends. */
function withRequestId(headers: Record<string, string> | undefined): Record<string, string> | undefined {
  const requestId = currentLogContext()?.requestId;
  if (!requestId || headers?.[REQUEST_ID_HEADER]) return headers;
  return { ...headers, [REQUEST_ID_HEADER]: requestId };
}

/** Counts what went wrong on the way or at the peer (5xx); a refusal such as 404 or 409 is an answer. */
function countFailure(subject: string, failure: RpcFailure): void {
  if (failure.status < 500) return;
  const metrics = processMetrics();
  metrics.natsRequestErrors.inc({ subject, code: failure.code });
  if (failure.code === 'timeout') metrics.natsRequestTimeouts.inc({ subject });
}

/** Request/reply over NATS with timeouts and typed `RpcFailure` errors. */
@Injectable()
export class RpcClient implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RpcClient.name);
  private readonly defaultTimeoutMs: number;

  constructor(
    @Inject(RPC_CLIENT_PROXY) private readonly proxy: ClientProxy,
    @Inject(MESSAGING_OPTIONS) settings: RpcClientSettings,
  ) {
    this.defaultTimeoutMs = settings.defaultTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
  }

  async onApplicationBootstrap(): Promise<void> {
    // Connect early so the first request does not pay for it; a failure here
    // is not fatal, every request retries the connection.
    await this.proxy.connect().catch((err: unknown) => {
      this.logger.warn(`NATS not reachable yet: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.proxy.close();
  }

  /**
   * Sends `payload` to `subject` and resolves with the reply. Rejects only
   * with `RpcFailure`: the peer's error as sent, `timeout` 504, or
   * `unavailable` 503 when nobody listens or NATS is unreachable.
   */
  async request<TResult>(subject: string, payload: object, options: RpcRequestOptions = {}): Promise<TResult> {
    assertValidSubject(subject);
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const headers = withRequestId(options.headers);
    const data: unknown = headers ? this.withHeaders(payload, headers) : payload;
    // On timeout the operator unsubscribes, and Nest's teardown removes the
    // reply-inbox subscription and the routing entry: nothing dangles.
    const reply$ = this.proxy.send<TResult, unknown>(subject, data).pipe(
      timeout({
        first: timeoutMs,
        with: () => throwError(() => RpcFailure.timeout(`no reply on ${subject} within ${timeoutMs} ms`)),
      }),
    );
    try {
      // A handler returning nothing yields an empty stream.
      return await lastValueFrom(reply$, { defaultValue: undefined as TResult });
    } catch (err) {
      const failure = toRpcFailure(err, subject);
      countFailure(subject, failure);
      throw failure;
    }
  }

  private withHeaders(payload: object, values: Record<string, string>): unknown {
    const hdrs = natsHeaders();
    for (const [key, value] of Object.entries(values)) {
      hdrs.set(key, value);
    }
    return new NatsRecordBuilder(payload).setHeaders(hdrs).build();
  }
}
