import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** Starting may first install python3-placement with apt-get (about 30 s on a new machine). */
export const PLACEMENT_START_TIMEOUT_MS = 180_000;

const SCRIPT = new URL('../../scripts/start-placement.sh', import.meta.url).pathname;

export const PLACEMENT_HEADERS = {
  'x-auth-token': 'admin',
  'openstack-api-version': 'placement 1.39',
  accept: 'application/json',
  'content-type': 'application/json',
};

export interface TestPlacementOptions {
  /**
   * Put Placement behind keystonemiddleware, validating tokens against this
   * Keystone (e.g. TestKeystone's `authUrl`) as the service user
   * `placement` / `placement-password` of project `service`. Without it,
   * Placement runs with noauth2.
   */
  keystoneAuthUrl?: string;
}

/** A real OpenStack Placement of its own (SQLite in a temp dir) on a free port; stopped and removed after. */
export class TestPlacement {
  private constructor(
    readonly port: number,
    private readonly stateDir: string,
    private readonly keystoneAuthUrl: string | null,
  ) {}

  static async start(options: TestPlacementOptions = {}): Promise<TestPlacement> {
    const stateDir = await mkdtemp(join(tmpdir(), 'cyborg-placement-'));
    const placement = new TestPlacement(await freePort(), stateDir, options.keystoneAuthUrl ?? null);
    await placement.script('start');
    return placement;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.script('stop').catch(() => undefined);
    await rm(this.stateDir, { recursive: true, force: true });
  }

  /**
   * One call, as an operator or Nova would make it; the body parsed when
   * there is one. `token` replaces noauth2's `admin` (behind Keystone, a
   * real token is needed).
   */
  async call<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }> {
    if (this.keystoneAuthUrl && token === undefined) throw new Error('Placement behind Keystone needs a token');
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...PLACEMENT_HEADERS, ...(token === undefined ? {} : { 'x-auth-token': token }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  }

  private async script(action: string): Promise<void> {
    await run('bash', [SCRIPT, String(this.port), action], {
      env: {
        ...process.env,
        PLACEMENT_STATE_DIR: this.stateDir,
        ...(this.keystoneAuthUrl
          ? { PLACEMENT_AUTH_STRATEGY: 'keystone', PLACEMENT_KEYSTONE_AUTH_URL: this.keystoneAuthUrl }
          : { PLACEMENT_AUTH_STRATEGY: 'noauth2' }),
      },
      timeout: PLACEMENT_START_TIMEOUT_MS - 10_000,
    });
  }
}

export interface ProxiedCall {
  method: string;
  path: string;
  status: number;
}

type Interceptor = { match: (method: string, path: string) => boolean; before: () => Promise<void> };

/**
 * An HTTP proxy in front of Placement that records every call, so a test
 * can count what a client sent; `interceptOnce` runs something (a
 * concurrent writer) just before one chosen call is forwarded.
 */
export class CountingProxy {
  readonly calls: ProxiedCall[] = [];
  /** When set, every call is answered with this status instead of being forwarded: Placement down. */
  failWith: number | null = null;
  private interceptors: Interceptor[] = [];

  private constructor(
    private readonly server: Server,
    private readonly target: string,
  ) {}

  static async start(target: string): Promise<CountingProxy> {
    let proxy: CountingProxy | null = null;
    const server = createServer((req, res) => void proxy!.forward(req, res));
    proxy = new CountingProxy(server, target);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('proxy is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  /** Calls since `from` (an index into `calls`), optionally only writes. */
  since(from: number, only?: 'writes'): ProxiedCall[] {
    return this.calls.slice(from).filter((c) => only !== 'writes' || c.method !== 'GET');
  }

  interceptOnce(match: Interceptor['match'], before: Interceptor['before']): void {
    this.interceptors.push({ match, before });
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
    if (this.failWith !== null) {
      this.calls.push({ method, path, status: this.failWith });
      res.writeHead(this.failWith, { 'content-type': 'text/plain' });
      res.end('Placement is down (test)');
      return;
    }
    const index = this.interceptors.findIndex((i) => i.match(method, path));
    if (index >= 0) {
      const [interceptor] = this.interceptors.splice(index, 1);
      await interceptor.before();
    }
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
      this.calls.push({ method, path, status: response.status });
      const out: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        if (!['connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(name)) out[name] = value;
      });
      res.writeHead(response.status, out);
      res.end(body);
    } catch (error) {
      this.calls.push({ method, path, status: 502 });
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
