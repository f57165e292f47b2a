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
  type CyborgEvent,
  HeartbeatCommand,
  type HeartbeatResult,
  hostCommandPattern,
  Streams,
} from '@cyborg/contracts';
import { decideHostDown, decideHostUp, HostAggregate } from '@cyborg/domain';
import { CommandHandler, HostHeartbeats } from '@cyborg/event-store';
import { conductorMetadata } from '../arqs/arq-streams';
import { requireSubjectHost } from '../host-commands/subject-host';

/**
 * Hosts' liveness: every heartbeat stamps `host_heartbeats` (shared by all
 * conductors, written in batches); a periodic check marks a host unheard for
 * HOST_DOWN_AFTER_MS down with an event, so binds to it fail at once, and
 * flags its row silent; its next heartbeat or report brings it back. Only
 * hosts that ever sent a heartbeat are watched, and only a flagged host's
 * heartbeat reads its stream: the cost of a heartbeat does not grow with
 * the size of host states, nor a check with the number of hosts down.
 */
@Injectable()
export class HostLiveness implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('host-liveness');
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> = Promise.resolve();

  constructor(
    private readonly heartbeats: HostHeartbeats,
    private readonly commands: CommandHandler<CyborgEvent>,
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
    const { silentCheck } = await this.heartbeats.heard(hostname);
    if (silentCheck === null) return { cameBack: false };
    const cameBack = await this.heard(hostname);
    await this.heartbeats.seenSilentCheck(hostname, silentCheck);
    return { cameBack };
  }

  /**
   * The agent of a host marked down was heard otherwise than by a heartbeat
   * (a report): it comes back, and counts as heard, so the checks watch it
   * again even if it dies before its next heartbeat.
   */
  async heardAgain(hostname: string): Promise<boolean> {
    const { silentCheck } = await this.heartbeats.heard(hostname);
    const cameBack = await this.heard(hostname);
    if (silentCheck !== null) await this.heartbeats.seenSilentCheck(hostname, silentCheck);
    return cameBack;
  }

  /** The host's agent was heard: a host marked down comes back. */
  async heard(hostname: string): Promise<boolean> {
    const { state } = await this.commands.read(HostAggregate, Streams.host(hostname));
    if (!state.down) return false;
    const outcome = await this.commands.handle<{ up: boolean }>(
      {
        commandId: `host_up:${hostname}:${new Date().toISOString()}`,
        type: 'host_up',
        payload: { hostname },
        metadata: conductorMetadata('the host was heard again'),
      },
      async (read) => {
        const current = await read(HostAggregate, Streams.host(hostname));
        const events = decideHostUp(hostname, current.state);
        return {
          appends: [{ streamId: Streams.host(hostname), events }],
          result: { up: events.length > 0 },
        };
      },
    );
    if (outcome.result.up) this.logger.log({ msg: 'host is up again', hostname });
    return outcome.result.up;
  }

  private async markSilentHostsDown(): Promise<void> {
    for (const silent of await this.heartbeats.silentFor(this.settings.HOST_DOWN_AFTER_MS)) {
      const { hostname } = silent;
      const { state } = await this.commands.read(HostAggregate, Streams.host(hostname));
      if (!state.registered || state.down) {
        await this.heartbeats.markSilent(hostname);
        continue;
      }
      const lastSeenAt = silent.lastSeenAt.toISOString();
      // One id per silence: two conductors noticing it record it once.
      const outcome = await this.commands.handle<{ down: boolean }>(
        {
          commandId: `host_down:${hostname}:${lastSeenAt}`,
          type: 'host_down',
          payload: { hostname, lastSeenAt },
          metadata: conductorMetadata(`no heartbeat since ${lastSeenAt}`),
        },
        async (read) => {
          const current = await read(HostAggregate, Streams.host(hostname));
          const events = decideHostDown(hostname, lastSeenAt, current.state);
          return {
            appends: [{ streamId: Streams.host(hostname), events }],
            result: { down: events.length > 0 },
          };
        },
      );
      // After the event: the next heartbeat then reads the stream, finds the host down and brings it back.
      await this.heartbeats.markSilent(hostname);
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
