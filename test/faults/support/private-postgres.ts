import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports';

const run = promisify(execFile);

/** PostgreSQL's server programs (initdb, pg_ctl), as the machine's pg_config names them. */
function binDir(): string {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return '/usr/lib/postgresql/15/bin';
  }
}

/** initdb and postgres refuse root: run them as the `postgres` user then. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/**
 * A PostgreSQL cluster of its own (initdb in a temp dir, a free port,
 * password authentication over TCP), so a test may restart it or cut its
 * sessions without touching the machine's shared PostgreSQL.
 */
export class PrivatePostgres {
  private readonly bin = binDir();
  private readonly user = serverUser();

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly password: string,
  ) {}

  static async start(password: string): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'cyborg-faults-pg-'));
    const cluster = new PrivatePostgres(dir, await freePort(), password);
    await cluster.init();
    await cluster.resume();
    return cluster;
  }

  /**
   * A streaming standby of `primary` (pg_basebackup -R: a base backup that
   * starts as a hot standby replicating from it), on a port of its own.
   */
  static async standbyOf(primary: PrivatePostgres): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'cyborg-faults-pg-standby-'));
    const standby = new PrivatePostgres(dir, await freePort(), primary.password);
    if (standby.user) chownSync(dir, standby.user.uid, standby.user.gid);
    await run(
      join(standby.bin, 'pg_basebackup'),
      ['-D', standby.dataDir, '-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-R', '-X', 'stream'],
      {
        ...(standby.user ?? {}),
        env: { ...process.env, LC_ALL: 'C', PGPASSWORD: primary.password },
        timeout: 120_000,
      },
    );
    await standby.resume();
    return standby;
  }

  /**
   * Makes every commit wait until a standby has it (synchronous_standby_names,
   * synchronous_commit=on), once one streams: an acknowledged commit survives
   * the loss of this server.
   */
  async requireSynchronousStandby(timeoutMs = 60_000): Promise<void> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`ALTER SYSTEM SET synchronous_standby_names = '*'`);
      await client.query(`ALTER SYSTEM SET synchronous_commit = 'on'`);
      await client.query(`SELECT pg_reload_conf()`);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming' AND sync_state = 'sync'`,
        );
        if (rows[0].n > 0) return;
        if (Date.now() > deadline) throw new Error(`no synchronous standby streams within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } finally {
      await client.end();
    }
  }

  /** Ends recovery on a standby: it becomes a primary that accepts writes. */
  async promote(): Promise<void> {
    await this.pgCtl(['promote', '-w', '-t', '60']);
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  url(database: string): string {
    return `postgres://postgres:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the server (again) on the same port and data directory. */
  async resume(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      // A test cluster: the OS keeps what a killed server wrote; only a machine crash would lose it.
      '-c fsync=off',
      '-c full_page_writes=off',
    ].join(' ');
    await this.pgCtl(['start', '-w', '-t', '60', '-l', join(this.dir, 'server.log'), '-o', options]);
  }

  /** `immediate` is a crash: no checkpoint, recovery from WAL at the next start. */
  async stop(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    await this.pgCtl(['stop', '-w', '-m', mode]).catch(() => undefined);
  }

  /** Ends every session of the services (application names `cyborg...`) on `database`, as an operator might. */
  async terminateSessions(database: string): Promise<number> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (
           SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name LIKE 'cyborg%') t`,
        [database],
      );
      return rows[0].n;
    } finally {
      await client.end();
    }
  }

  async createDatabase(name: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.url('postgres') });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } finally {
      await client.end();
    }
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async init(): Promise<void> {
    if (this.user) chownSync(this.dir, this.user.uid, this.user.gid);
    const pwfile = join(this.dir, 'pwfile');
    writeFileSync(pwfile, `${this.password}\n`, { mode: 0o600 });
    if (this.user) chownSync(pwfile, this.user.uid, this.user.gid);
    await run(
      join(this.bin, 'initdb'),
      [
        '-D',
        this.dataDir,
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--no-sync',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        `--pwfile=${pwfile}`,
      ],
      { ...(this.user ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
    rmSync(pwfile);
  }

  private async pgCtl(args: string[]): Promise<void> {
    await run(join(this.bin, 'pg_ctl'), ['-D', this.dataDir, ...args], {
      ...(this.user ?? {}),
      env: { ...process.env, LC_ALL: 'C' },
      timeout: 90_000,
    });
  }
}
