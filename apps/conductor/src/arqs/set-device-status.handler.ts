import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  SetDeviceStatusCommand,
  type SetDeviceStatusResult,
  Streams,
} from '@cyborg/contracts';
import { decideSetDeviceStatus, DomainError } from '@cyborg/domain';
import { CommandExecutor } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';
import { ArqStreams } from './arq-streams';
import { HostLocks } from './host-locks';

/** Device disable/enable (Cyborg §7.4), on the host stream, where binds read it. */
@Injectable()
export class SetDeviceStatusHandler {
  constructor(
    private readonly streams: ArqStreams,
    private readonly executor: CommandExecutor,
    private readonly locks: HostLocks,
  ) {}

  async handle(command: SetDeviceStatusCommand): Promise<CommandReply<SetDeviceStatusResult>> {
    const { hostname, deviceUuid, status } = command;
    const outcome = await this.locks.run([hostname], () =>
      runCommand(() =>
        this.executor.execute<SetDeviceStatusResult>(
          {
            commandId: command.commandId,
            type: ConductorCommands.setDeviceStatus,
            payload: { hostname, deviceUuid, status },
            metadata: { ...command.caller },
          },
          async () => {
            const { state, version } = await this.streams.host(hostname);
            const events = decideSetDeviceStatus({ hostname, deviceUuid, status }, state);
            if (events instanceof DomainError) throw failureOf(events);
            return {
              appends: [{ streamId: Streams.host(hostname), expectedVersion: version, events }],
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
