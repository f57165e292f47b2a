import { AsyncLocalStorage } from 'node:async_hooks';

/** What ties a log line to the request and command it was written for. */
export interface LogContext {
  /** OpenStack's request id (`X-OpenStack-Request-ID`): the same in every service. */
  requestId?: string;
  commandId?: string;
  /** The NATS subject a service is answering. */
  subject?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/** Runs `work` with `context` on every log line it writes, across awaits. */
export function withLogContext<T>(context: LogContext, work: () => T): T {
  const current = storage.getStore();
  return storage.run(current ? { ...current, ...context } : context, work);
}

/** The context of the work running now, if any. */
export function currentLogContext(): LogContext | undefined {
  return storage.getStore();
}

const REQUEST_ID = /^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether a caller's `X-OpenStack-Request-ID` may be taken as the global
 * request id: `req-` and a UUID, as oslo.middleware's request_id checks
 * (anything else could smuggle text into every log line and event).
 */
export function isRequestId(value: string | null | undefined): value is string {
  return typeof value === 'string' && REQUEST_ID.test(value);
}
