import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type CyborgEvent,
  ReleaseDeviceFenceCommand,
  type ReleaseDeviceFenceResult,
  Streams,
} from '@cyborg/contracts';
import { decideReleaseFence, DomainError, HostAggregate } from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';
import { HostLocks } from '../arqs/host-locks';

/** An admin releases a device kept fenced after recovery (HEALTH_FENCE_STICKY), on the host stream binds read. */
@Injectable()
export class ReleaseDeviceFenceHandler {
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly locks: HostLocks,
  ) {}

  async handle(command: ReleaseDeviceFenceCommand): Promise<CommandReply<ReleaseDeviceFenceResult>> {
    const { hostname, deviceUuid } = command;
    const streamId = Streams.host(hostname);
    const outcome = await this.locks.run([hostname], () =>
      runCommand(() =>
        this.commands.handle<ReleaseDeviceFenceResult>(
          {
            commandId: command.commandId,
            type: ConductorCommands.releaseDeviceFence,
            payload: { hostname, deviceUuid },
            metadata: { ...command.caller },
          },
          async (read) => {
            const { state } = await read(HostAggregate, streamId);
            const events = decideReleaseFence({ hostname, deviceUuid }, state);
            if (events instanceof DomainError) throw failureOf(events);
            return { appends: [{ streamId, events }], result: { changed: events.length > 0 } };
          },
        ),
      ),
    );
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }
}

@Controller()
export class ReleaseDeviceFenceController {
  constructor(private readonly handler: ReleaseDeviceFenceHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.releaseDeviceFence))
  release(@Payload() command: ReleaseDeviceFenceCommand): Promise<CommandReply<ReleaseDeviceFenceResult>> {
    return this.handler.handle(command);
  }
}
