import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './ports';

const run = promisify(execFile);
/** From dist/bench/system/ to the repository's scripts/. */
const SCRIPT = new URL('../../../scripts/start-placement.sh', import.meta.url).pathname;

export const PLACEMENT_HEADERS = {
  'x-auth-token': 'admin',
  'openstack-api-version': 'placement 1.39',
  accept: 'application/json',
  'content-type': 'application/json',
};

/** A real OpenStack Placement of the run's own (scripts/start-placement.sh, SQLite in a temp dir) on a free port. */
export class BenchPlacement {
  private constructor(
    readonly port: number,
    private readonly stateDir: string,
  ) {}

  static async start(): Promise<BenchPlacement> {
    const stateDir = await mkdtemp(join(tmpdir(), 'cyborg-bench-placement-'));
    const placement = new BenchPlacement(await freePort(), stateDir);
    try {
      await placement.script('start');
    } catch (error) {
      await rm(stateDir, { recursive: true, force: true });
      throw error;
    }
    return placement;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** One call as Nova or an operator makes it, straight to Placement (not counted). */
  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: PLACEMENT_HEADERS,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async stop(): Promise<void> {
    await this.script('stop').catch(() => undefined);
    await rm(this.stateDir, { recursive: true, force: true });
  }

  private async script(action: string): Promise<void> {
    await run('bash', [SCRIPT, String(this.port), action], {
      env: { ...process.env, PLACEMENT_STATE_DIR: this.stateDir },
      timeout: 170_000,
    });
  }
}

export interface ProxiedCall {
  method: string;
  path: string;
  status: number;
  at: number;
}

/** An HTTP proxy in front of Placement that records every call placement-sync makes. */
export class CountingProxy {
  readonly calls: ProxiedCall[] = [];

  private constructor(
    private readonly server: Server,
    private readonly target: string,
  ) {}

  static async start(target: string): Promise<CountingProxy> {
    let proxy: CountingProxy | null = null;
    const server = createServer((req, res) => void proxy?.forward(req, res));
    proxy = new CountingProxy(server, target);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** When the last call was answered (0: none yet). */
  get lastCallAt(): number {
    return this.calls.length ? this.calls[this.calls.length - 1].at : 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
    }
    try {
      const response = await fetch(`${this.target}${path}`, {
        method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await response.arrayBuffer());
      this.calls.push({ method, path, status: response.status, at: Date.now() });
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        if (!['connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(name)) out[name] = value;
      });
      res.writeHead(response.status, out);
      res.end(body);
    } catch (error) {
      this.calls.push({ method, path, status: 502, at: Date.now() });
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  }
}
