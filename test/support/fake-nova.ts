import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidTokenError, type TokenIdentity, type TokenValidator } from '@cyborg/keystone';

export interface NovaEvent {
  name: string;
  server_uuid: string;
  tag: string;
  status: string;
}

export interface RecordedNovaRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  events: NovaEvent[];
  /** What this fake answered. */
  status: number;
  /** Who the X-Auth-Token speaks for, as Keystone said; null when tokens are not checked or it was refused. */
  identity: TokenIdentity | null;
  /** When it was answered (Date.now()). */
  at: number;
}

export interface FakeNovaOptions {
  /**
   * Check every X-Auth-Token against a real Keystone, as Nova's
   * keystonemiddleware does: a token Keystone refuses is answered 401.
   */
  validator?: TokenValidator;
}

export interface NovaAnswer {
  status: number;
  /** Nova's per-event code for a 200/207; 200 when absent. */
  code?: number;
}

/**
 * A local Nova compute API that records every external-events request and
 * answers as Nova does (200, or 207 with per-event codes). `answers` queues
 * the next answers, e.g. a 503 before a 200, to test retries.
 */
export class FakeNova {
  readonly requests: RecordedNovaRequest[] = [];
  private readonly answers: NovaAnswer[] = [];
  private readonly waiters: (() => void)[] = [];

  private constructor(private readonly server: Server) {}

  static async start(options: FakeNovaOptions = {}): Promise<FakeNova> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let identity: TokenIdentity | null = null;
        if (options.validator) {
          const token = request.headers['x-auth-token'];
          try {
            identity = await options.validator.validate(typeof token === 'string' ? token : '');
          } catch (error) {
            const status = error instanceof InvalidTokenError ? 401 : 503;
            nova.requests.push({
              method: request.method ?? '',
              path: request.url ?? '',
              headers: request.headers,
              events: [],
              status,
              identity: null,
              at: Date.now(),
            });
            response.writeHead(status, { 'Content-Type': 'application/json' });
            return response.end(JSON.stringify({ error: { message: (error as Error).message } }));
          }
        }
        let events: NovaEvent[] = [];
        try {
          events = (JSON.parse(body) as { events?: NovaEvent[] }).events ?? [];
        } catch {
          events = [];
        }
        const answer = nova.answers.shift() ?? { status: 200 };
        nova.requests.push({
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          events,
          status: answer.status,
          identity,
          at: Date.now(),
        });
        response.writeHead(answer.status, { 'Content-Type': 'application/json' });
        response.end(JSON.stringify({ events: events.map((e) => ({ ...e, code: answer.code ?? 200 })) }));
        for (const wake of nova.waiters.splice(0)) wake();
      });
    });
    const nova = new FakeNova(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return nova;
  }

  /** Nova's compute endpoint, as NOVA_URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/compute/v2.1`;
  }

  answer(...answers: NovaAnswer[]): void {
    this.answers.push(...answers);
  }

  /** Every event received so far for the ARQ `tag`, across requests. */
  eventsFor(tag: string): NovaEvent[] {
    return this.requests
      .flatMap((r) => (r.status === 200 || r.status === 207 ? r.events : []))
      .filter((e) => e.tag === tag);
  }

  /** Waits until the ARQ's event has arrived (and was answered 2xx). */
  async eventFor(tag: string, timeoutMs = 15_000): Promise<NovaEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [event] = this.eventsFor(tag);
      if (event) return event;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`Nova got no event for ${tag} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
