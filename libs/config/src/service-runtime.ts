import type { LoggerService } from '@nestjs/common';

/** One dependency's answer to a readiness probe. */
export interface DependencyStatus {
  ok: boolean;
  latency_ms?: number;
  error?: string;
}

export interface RunningService {
  name: string;
  close(): Promise<void>;
  /** Whether each dependency the service needs answers now (its `/healthz/ready`). */
  readiness?(): Promise<Record<string, DependencyStatus>>;
}

/**
 * Runs services until SIGINT/SIGTERM, then closes them in reverse order.
 * A failure to start is logged and exits non-zero rather than hanging.
 */
export async function runUntilSignalled(logger: LoggerService, start: () => Promise<RunningService[]>): Promise<void> {
  let services: RunningService[] = [];
  let stopping = false;
  // A service runs until told to stop, even when it has no socket of its own open.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.log({ msg: 'stopping', signal });
    clearInterval(keepAlive);
    for (const service of [...services].reverse()) {
      await service
        .close()
        .catch((error: unknown) => logger.error({ msg: 'close failed', service: service.name, error: String(error) }));
    }
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  try {
    services = await start();
  } catch (error) {
    logger.error({ msg: 'failed to start', error: error instanceof Error ? error.message : String(error) });
    for (const service of [...services].reverse()) await service.close().catch(() => undefined);
    process.exit(1);
  }
}
