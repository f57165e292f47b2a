import {
  Controller,
  Get,
  HttpStatus,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Req,
  Res,
} from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Request, Response } from 'express';
import { DataSource } from 'typeorm';
import { Settings } from '@cyborg/config';
import { connectNats } from '@cyborg/messaging';
import { isAdmin } from '@cyborg/contracts';
import { Projections } from '@cyborg/projections';
import { KEYSTONE_AUTH, type KeystoneAuth } from '../http/authentication';
import { authenticatedCaller } from '../http/caller';

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
    @Inject(KEYSTONE_AUTH) private readonly keystone: KeystoneAuth | null,
  ) {}

  async onApplicationBootstrap() {
    this.nc = await connectNats(this.settings.NATS_URL, 'cyborg-api-health');
  }

  async onApplicationShutdown() {
    await this.nc?.close();
  }

  async check() {
    const keystone = this.keystone;
    const [postgres, nats, keystoneCheck] = await Promise.all([
      this.probe(() => this.dataSource.query('SELECT 1'), 'PostgreSQL'),
      this.probe(() => (this.nc ? this.nc.rtt() : Promise.reject(new Error('not connected'))), 'NATS'),
      keystone ? this.probe(() => keystone.authenticator.probe(TIMEOUT_MS), 'Keystone') : null,
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
    const checks = { postgres, nats, ...(keystoneCheck && { keystone: keystoneCheck }) };
    const ok = Object.values(checks).every((c) => c.ok);
    return { status: ok ? 'ok' : 'degraded', checks, projections };
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

/**
 * Liveness and readiness for operators and load balancers: 200 when
 * PostgreSQL, NATS (and Keystone, under AUTH_STRATEGY=keystone) answer, else
 * 503. Open without a token, as oslo.middleware's healthcheck; only the
 * admin sees the detail (latencies, errors, projections), anyone else up or
 * down per dependency, never error text.
 */
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  async healthz(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const report = await this.health.check();
    response.status(report.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    const caller = authenticatedCaller(request);
    if (caller && isAdmin(caller.roles)) return report;
    const upOrDown = (check: { ok: boolean }) => ({ ok: check.ok });
    return {
      status: report.status,
      checks: {
        ...Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, upOrDown(check)])),
        projections: { ok: report.projections.every((p) => p.active && !p.last_error) },
      },
    };
  }

  /** Readiness, as the other services name it: the same report as /healthz. */
  @Get('healthz/ready')
  ready(@Req() request: Request, @Res({ passthrough: true }) response: Response) {
    return this.healthz(request, response);
  }

  /** Liveness: the process answers; restarting it would not help a dependency that is away. */
  @Get('healthz/live')
  live() {
    return { status: 'ok', service: 'api' };
  }
}
