import { choosesHost, type DatabaseHost, type DatabaseUrl, parseDatabaseUrl } from '@cyborg/config';
import pg from 'pg';

/** How long one host may take to answer before the next is tried. */
const PROBE_TIMEOUT_MS = 5_000;

/** A session that cannot write: a standby (hot standby), or a server whose default is read-only. */
function readOnly(status: Map<string, string>): boolean | undefined {
  const standby = status.get('in_hot_standby');
  const defaultReadOnly = status.get('default_transaction_read_only');
  if (standby === undefined || defaultReadOnly === undefined) return undefined;
  return standby === 'on' || defaultReadOnly === 'on';
}

/** PostgreSQL 14+ reports both at startup; older servers are asked, as libpq does. */
async function isReadOnly(client: pg.Client, status: Map<string, string>): Promise<boolean> {
  const reported = readOnly(status);
  if (reported !== undefined) return reported;
  const { rows } = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
  return rows[0].transaction_read_only === 'on';
}

/** No host could be used now; SQLSTATE 08001 (cannot establish a connection), so callers hear "try again". */
export class NoPrimaryError extends Error {
  readonly code = '08001';
}

/** An answer from a running server that is about us, not about the server (class 08 and 57P0x are the server's state). */
function refusal(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^08|^57P0/.test(code);
}

function describe(host: DatabaseHost): string {
  return `${host.host}:${host.port}`;
}

/**
 * Which host of a multi-host URL is the primary (the first, in the URL's
 * order, whose session is read-write). The answer is kept until a session
 * to it fails; then the hosts are asked again, once for all who wait.
 */
export class PrimaryLocator {
  private static readonly shared = new Map<string, PrimaryLocator>();
  private known: number | null = null;
  private search: Promise<number> | null = null;

  private constructor(private readonly url: DatabaseUrl) {}

  /** One locator per URL in a process, so that every pool and session learns of a switch at once. */
  static for(url: string): PrimaryLocator {
    let locator = PrimaryLocator.shared.get(url);
    if (!locator) {
      locator = new PrimaryLocator(parseDatabaseUrl(url));
      PrimaryLocator.shared.set(url, locator);
    }
    return locator;
  }

  get hosts(): DatabaseHost[] {
    return this.url.hosts;
  }

  get targetSessionAttrs(): DatabaseUrl['targetSessionAttrs'] {
    return this.url.targetSessionAttrs;
  }

  /** A single-host URL `pg` reads, for the i-th host. */
  hostUrl(index: number): string {
    return this.url.hostUrl(index);
  }

  /** The index of the host to connect to now. */
  async primary(config: pg.ClientConfig): Promise<number> {
    if (this.known !== null) return this.known;
    this.search ??= this.find(config).finally(() => (this.search = null));
    return this.search;
  }

  /** A session to `index` failed or could not write: the next connection asks every host again. */
  forget(index: number): void {
    if (this.known === index) this.known = null;
  }

  /** Keeps a host found by a session of its own. */
  found(index: number): void {
    this.known = index;
  }

  private async find(config: pg.ClientConfig): Promise<number> {
    const problems: string[] = [];
    for (let i = 0; i < this.hosts.length; i++) {
      const status = new Map<string, string>();
      const probe = new pg.Client({
        ...config,
        connectionString: this.hostUrl(i),
        connectionTimeoutMillis: config.connectionTimeoutMillis || PROBE_TIMEOUT_MS,
        application_name: config.application_name ? `${config.application_name}:probe`.slice(0, 63) : undefined,
      });
      probe.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) =>
        status.set(m.parameterName, m.parameterValue),
      );
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        if (this.targetSessionAttrs === 'any' || !(await isReadOnly(probe, status))) {
          this.known = i;
          return i;
        }
        problems.push(`${describe(this.hosts[i])} is read-only`);
      } catch (error) {
        // A server that answered and refused (no such database, bad password) would say so from every host.
        if (refusal(error)) throw error;
        problems.push(`${describe(this.hosts[i])}: ${(error as Error).message}`);
      } finally {
        await probe.end().catch(() => undefined);
      }
    }
    throw new NoPrimaryError(
      `no ${this.targetSessionAttrs} PostgreSQL server among the hosts (${problems.join('; ')})`,
    );
  }
}

type ConnectCallback = (error: Error | null, client?: pg.Client) => void;

/**
 * A `pg` client for a multi-host URL: it connects to the primary the
 * locator names and keeps the session only if it can write (a standby
 * promoted meanwhile, or an old primary back read-only, is refused and
 * the hosts asked again). Plain `pg` for a one-host URL without
 * `target_session_attrs`.
 */
export class PrimaryClient extends pg.Client {
  private readonly status = new Map<string, string>();

  constructor(
    private readonly locator: PrimaryLocator,
    private readonly config: pg.ClientConfig,
  ) {
    super({ ...config, connectionString: locator.hostUrl(0) });
    this.connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) =>
      this.status.set(m.parameterName, m.parameterValue),
    );
  }

  override connect(): Promise<pg.Client>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
    const connected = this.connectToPrimary();
    if (!callback) return connected;
    connected.then(
      (client) => callback(null, client),
      (error: Error) => callback(error),
    );
  }

  private async connectToPrimary(): Promise<pg.Client> {
    const index = await this.locator.primary(this.config);
    const { host, port } = this.locator.hosts[index];
    this.host = host;
    this.port = port;
    try {
      await super.connect();
    } catch (error) {
      this.locator.forget(index);
      throw error;
    }
    if (this.locator.targetSessionAttrs === 'read-write' && (await isReadOnly(this, this.status))) {
      this.locator.forget(index);
      await this.end().catch(() => undefined);
      throw new NoPrimaryError(
        `${describe(this.locator.hosts[index])} is read-only now; looking for the primary again`,
      );
    }
    this.locator.found(index);
    // A session lost (the primary stopped, crashed, or was fenced): the next connection asks every host.
    this.on('error', () => this.locator.forget(index));
    return this;
  }
}

/** Whether a URL needs the host choice above (several hosts, or a session attribute to check). */
export function needsPrimaryChoice(url: string): boolean {
  return choosesHost(url);
}

/** A client (not connected yet) to the database of `url`, whichever host is the primary now. */
export function primaryClient(url: string, config: Omit<pg.ClientConfig, 'connectionString'> = {}): pg.Client {
  if (!needsPrimaryChoice(url)) return new pg.Client({ ...config, connectionString: url });
  return new PrimaryClient(PrimaryLocator.for(url), config);
}

/** The class a `pg.Pool` makes its clients with, for `url`: every pooled session is to the primary. */
export function primaryClientClass(url: string): typeof pg.Client {
  const locator = PrimaryLocator.for(url);
  return class extends PrimaryClient {
    constructor(config: pg.ClientConfig = {}) {
      super(locator, config);
    }
  } as unknown as typeof pg.Client;
}
