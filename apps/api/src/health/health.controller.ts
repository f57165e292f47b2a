import {
  Controller,
  Get,
  HttpStatus,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Res,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import { Settings } from '@cyborg/config';
import { connectNats } from '@cyborg/messaging';
import { Projections } from '@cyborg/projections';

interface Check {
  ok: boolean;
  latency_ms?: number;
  error?: string;
}

const TIMEOUT_MS = 1000;

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

@Injectable()
export class HealthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private nc: NatsConnection | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly projections: Projections,
    private readonly settings: Settings,
  ) {}

  async onApplicationBootstrap() {
    this.nc = await connectNats(this.settings.NATS_URL, 'cyborg-api-health');
  }

  async onApplicationShutdown() {
    await this.nc?.close();
  }

  async check() {
    const [postgres, nats] = await Promise.all([
      this.probe(() => this.dataSource.query('SELECT 1'), 'PostgreSQL'),
      this.probe(() => (this.nc ? this.nc.rtt() : Promise.reject(new Error('not connected'))), 'NATS'),
    ]);
    const projections = postgres.ok
      ? (await withTimeout(this.projections.status(), 'projection status').catch(() => [])).map((p) => ({
          name: p.name,
          active: p.active,
          lag: p.lag,
          position: p.checkpoint.position,
          last_error: p.lastError,
        }))
      : [];
    const ok = postgres.ok && nats.ok;
    return { status: ok ? 'ok' : 'degraded', checks: { postgres, nats }, projections };
  }

  private async probe(run: () => Promise<unknown>, what: string): Promise<Check> {
    const start = performance.now();
    try {
      await withTimeout(run(), what);
      return { ok: true, latency_ms: Math.round((performance.now() - start) * 100) / 100 };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }
}

/** Liveness and readiness for operators and load balancers: 200 when PostgreSQL and NATS answer, else 503. */
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  async healthz(@Res({ passthrough: true }) response: Response) {
    const report = await this.health.check();
    response.status(report.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return report;
  }

  /** Readiness, as the other services name it: the same report as /healthz. */
  @Get('healthz/ready')
  ready(@Res({ passthrough: true }) response: Response) {
    return this.healthz(response);
  }

  /** Liveness: the process answers; restarting it would not help a dependency that is away. */
  @Get('healthz/live')
  live() {
    return { status: 'ok', service: 'api' };
  }
}
