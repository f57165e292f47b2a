import { randomUUID } from 'node:crypto';
import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  CreateAttributeCommand,
  type CreateAttributeResult,
  type CyborgEvent,
  DeleteAttributeCommand,
  type DeleteAttributeResult,
  Streams,
} from '@cyborg/contracts';
import { decideCreateAttribute, decideDeleteAttribute, DomainError, HostAggregate } from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';

/**
 * Operators' attributes (Cyborg §9 create and delete), decided against the
 * deployable's host stream: the stream the agent's reports are decided on,
 * so a report and an attribute change never miss each other (both append
 * with an expected version; the loser is decided again).
 */
@Injectable()
export class AttributesHandler {
  constructor(private readonly commands: CommandHandler<CyborgEvent>) {}

  async create(command: CreateAttributeCommand): Promise<CommandReply<CreateAttributeResult>> {
    const { hostname, deployableUuid, key, value } = command;
    // Chosen once, outside decide: a retried decision keeps the same uuid.
    const uuid = randomUUID();
    const streamId = Streams.host(hostname);
    const outcome = await runCommand(() =>
      this.commands.handle<CreateAttributeResult>(
        {
          commandId: command.commandId,
          type: ConductorCommands.createAttribute,
          payload: { hostname, deployableUuid, key, value },
          metadata: { ...command.caller },
        },
        async (read) => {
          const { state } = await read(HostAggregate, streamId);
          const events = decideCreateAttribute({ hostname, uuid, deployableUuid, key, value }, state);
          if (events instanceof DomainError) throw failureOf(events);
          return {
            appends: [{ streamId, events }],
            result: { uuid, deployableUuid, key, value },
          };
        },
      ),
    );
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }

  async delete(command: DeleteAttributeCommand): Promise<CommandReply<DeleteAttributeResult>> {
    const { hostname, attributeUuid } = command;
    const streamId = Streams.host(hostname);
    const outcome = await runCommand(() =>
      this.commands.handle<DeleteAttributeResult>(
        {
          commandId: command.commandId,
          type: ConductorCommands.deleteAttribute,
          payload: { hostname, attributeUuid },
          metadata: { ...command.caller },
        },
        async (read) => {
          const { state } = await read(HostAggregate, streamId);
          const events = decideDeleteAttribute({ hostname, uuid: attributeUuid }, state);
          if (events instanceof DomainError) throw failureOf(events);
          return { appends: [{ streamId, events }], result: { uuid: attributeUuid } };
        },
      ),
    );
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }
}

@Controller()
export class AttributesController {
  constructor(private readonly handler: AttributesHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.createAttribute))
  createAttribute(@Payload() command: CreateAttributeCommand): Promise<CommandReply<CreateAttributeResult>> {
    return this.handler.create(command);
  }

  @MessagePattern(conductorSubject(ConductorCommands.deleteAttribute))
  deleteAttribute(@Payload() command: DeleteAttributeCommand): Promise<CommandReply<DeleteAttributeResult>> {
    return this.handler.delete(command);
  }
}
