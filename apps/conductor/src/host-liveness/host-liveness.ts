import {
  Controller,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Ctx, MessagePattern, NatsContext, Payload } from '@nestjs/microservices';
import { Settings } from '@cyborg/config';
import {
  ConductorCommands,
  HeartbeatCommand,
  type HeartbeatResult,
  hostCommandPattern,
  Streams,
} from '@cyborg/contracts';
import { decideHostDown, decideHostUp } from '@cyborg/domain';
import { CommandExecutor, EventStore } from '@cyborg/event-store';
import { ArqStreams, conductorMetadata } from '../arqs/arq-streams';
import { requireSubjectHost } from '../host-commands/subject-host';

/**
 * Hosts' liveness: every heartbeat stamps `host_heartbeats` (shared by all
 * conductors); a periodic check marks a host unheard for HOST_DOWN_AFTER_MS
 * down with an event, so binds to it fail at once; its next heartbeat or
 * report brings it back. Only hosts that ever sent a heartbeat are watched.
 */
@Injectable()
export class HostLiveness implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('host-liveness');
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    private readonly streams: ArqStreams,
    private readonly executor: CommandExecutor,
    private readonly settings: Settings,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.max(200, Math.floor(this.settings.HOST_DOWN_AFTER_MS / 3));
    this.timer = setInterval(() => {
      this.checking = this.checking.then(() =>
        this.markSilentHostsDown().catch((error: unknown) =>
          this.logger.warn({ msg: 'host liveness check failed', error: String(error) }),
        ),
      );
    }, every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.checking;
  }

  async heartbeat(hostname: string): Promise<HeartbeatResult> {
    await this.store.dataSource.query(
      `INSERT INTO host_heartbeats (hostname, last_seen_at) VALUES ($1, now())
       ON CONFLICT (hostname) DO UPDATE SET last_seen_at = now()`,
      [hostname],
    );
    return { cameBack: await this.heard(hostname) };
  }

  /** The host's agent was heard: a host marked down comes back. */
  async heard(hostname: string): Promise<boolean> {
    const { state } = await this.streams.host(hostname);
    if (!state.down) return false;
    const outcome = await this.executor.execute<{ up: boolean }>(
      {
        commandId: `host_up:${hostname}:${new Date().toISOString()}`,
        type: 'host_up',
        payload: { hostname },
        metadata: conductorMetadata('the host was heard again'),
      },
      async () => {
        const current = await this.streams.host(hostname);
        const events = decideHostUp(hostname, current.state);
        return {
          appends: [{ streamId: Streams.host(hostname), expectedVersion: current.version, events }],
          result: { up: events.length > 0 },
        };
      },
    );
    if (outcome.result.up) this.logger.log({ msg: 'host is up again', hostname });
    return outcome.result.up;
  }

  private async markSilentHostsDown(): Promise<void> {
    const rows: { hostname: string; last_seen_at: Date }[] = await this.store.dataSource.query(
      `SELECT hostname, last_seen_at FROM host_heartbeats
       WHERE last_seen_at < now() - make_interval(secs => $1::float8 / 1000)`,
      [this.settings.HOST_DOWN_AFTER_MS],
    );
    for (const { hostname, last_seen_at } of rows) {
      const { state } = await this.streams.host(hostname);
      if (!state.registered || state.down) continue;
      const lastSeenAt = last_seen_at.toISOString();
      // One id per silence: two conductors noticing it record it once.
      const outcome = await this.executor.execute<{ down: boolean }>(
        {
          commandId: `host_down:${hostname}:${lastSeenAt}`,
          type: 'host_down',
          payload: { hostname, lastSeenAt },
          metadata: conductorMetadata(`no heartbeat since ${lastSeenAt}`),
        },
        async () => {
          const current = await this.streams.host(hostname);
          const events = decideHostDown(hostname, lastSeenAt, current.state);
          return {
            appends: [{ streamId: Streams.host(hostname), expectedVersion: current.version, events }],
            result: { down: events.length > 0 },
          };
        },
      );
      if (outcome.result.down && !outcome.duplicate) {
        this.logger.warn({ msg: 'host is down: no heartbeat', hostname, lastSeenAt });
      }
    }
  }
}

@Controller()
export class HeartbeatController {
  private readonly logger = new Logger('heartbeat');

  constructor(private readonly liveness: HostLiveness) {}

  @MessagePattern(hostCommandPattern(ConductorCommands.heartbeat))
  heartbeat(@Payload() command: HeartbeatCommand, @Ctx() context: NatsContext): Promise<HeartbeatResult> {
    requireSubjectHost(context, command.hostname, this.logger);
    return this.liveness.heartbeat(command.hostname);
  }
}
