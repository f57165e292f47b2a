import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type CyborgEvent,
  SetDeviceStatusCommand,
  type SetDeviceStatusResult,
  Streams,
} from '@cyborg/contracts';
import { decideSetDeviceStatus, DomainError, HostAggregate } from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';
import { HostLocks } from './host-locks';

/** Device disable/enable (Cyborg §7.4), on the host stream, where binds read it. */
@Injectable()
export class SetDeviceStatusHandler {
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly locks: HostLocks,
  ) {}

  async handle(command: SetDeviceStatusCommand): Promise<CommandReply<SetDeviceStatusResult>> {
    const { hostname, deviceUuid, status } = command;
    const outcome = await this.locks.run([hostname], () =>
      runCommand(() =>
        this.commands.handle<SetDeviceStatusResult>(
          {
            commandId: command.commandId,
            type: ConductorCommands.setDeviceStatus,
            payload: { hostname, deviceUuid, status },
            metadata: { ...command.caller },
          },
          async (read) => {
            const { state } = await read(HostAggregate, Streams.host(hostname));
            const events = decideSetDeviceStatus({ hostname, deviceUuid, status }, state);
            if (events instanceof DomainError) throw failureOf(events);
            return {
              appends: [{ streamId: Streams.host(hostname), events }],
              result: { changed: events.length > 0 },
            };
          },
        ),
      ),
    );
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }
}

@Controller()
export class SetDeviceStatusController {
  constructor(private readonly handler: SetDeviceStatusHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.setDeviceStatus))
  setDeviceStatus(@Payload() command: SetDeviceStatusCommand): Promise<CommandReply<SetDeviceStatusResult>> {
    return this.handler.handle(command);
  }
}
