import { readFileSync } from 'node:fs';
import os from 'node:os';
import type pg from 'pg';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres: string;
  /** 1-minute load average when the run started: other work on the machine shows up as noise. */
  loadAverage: number;
  /** Server settings that move the figures most. */
  postgresSettings: Record<string, string>;
}

export async function describeMachine(pool: pg.Pool): Promise<MachineInfo> {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) cpuModel = line.split(':').slice(1).join(':').trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  const version = await pool.query(`SHOW server_version`);
  const settings = await pool.query(
    `SELECT name, setting || coalesce(' ' || unit, '') AS value FROM pg_settings
     WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'work_mem', 'max_wal_size', 'jit')
     ORDER BY name`,
  );
  return {
    cpuModel,
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: version.rows[0].server_version,
    loadAverage: Math.round(os.loadavg()[0] * 100) / 100,
    postgresSettings: Object.fromEntries(settings.rows.map((r) => [r.name, r.value])),
  };
}
