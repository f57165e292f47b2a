import { createServer, type Server } from 'node:http';
import { freePort } from './ports';

/**
 * Nova's side of bind notifications for the lifecycle figures: accepts
 * `POST /os-server-external-events` as Nova's compute API does (200) and
 * keeps the tags (ARQ uuids) of the `accelerator-request-bound` events, so
 * the bench can check that every bind was notified.
 */
export class BenchNova {
  /** ARQ uuid → status of its last notification. */
  readonly notified = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<BenchNova> {
    const port = await freePort();
    let nova: BenchNova | null = null;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method !== 'POST' || !request.url?.endsWith('/os-server-external-events')) {
          response.writeHead(404).end();
          return;
        }
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
            events?: { name: string; tag: string; status: string }[];
          };
          for (const event of body.events ?? []) {
            if (event.name === 'accelerator-request-bound') nova?.notified.set(event.tag, event.status);
          }
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        } catch {
          response.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    nova = new BenchNova(server, port);
    return nova;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The ARQs of `bound` that Nova has not heard `completed` for, after waiting up to `timeoutMs`. */
  async missing(bound: readonly string[], timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = bound.filter((arq) => this.notified.get(arq) !== 'completed');
      if (missing.length === 0 || Date.now() >= deadline) return missing;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
