import { randomUUID } from 'node:crypto';
import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  CreateDeviceProfileCommand,
  type CreateDeviceProfileResult,
  type CyborgEvent,
  Streams,
} from '@cyborg/contracts';
import {
  decideCreateDeviceProfile,
  DeviceProfileAggregate,
  DeviceProfileNameAggregate,
  DomainError,
  parseDeviceProfile,
} from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';

/**
 * Creates a device profile. The name is claimed on its own stream in the same
 * append, with an expected version: of two concurrent creates of one name,
 * one appends and the other is decided again, and refused.
 */
@Injectable()
export class CreateDeviceProfileHandler {
  constructor(private readonly commands: CommandHandler<CyborgEvent>) {}

  async handle(command: CreateDeviceProfileCommand): Promise<CommandReply<CreateDeviceProfileResult>> {
    const spec = parseDeviceProfile(command);
    if (spec instanceof DomainError) throw failureOf(spec);
    // Chosen once, outside decide: a retried decision keeps the same uuid.
    const uuid = spec.uuid ?? randomUUID();
    const profileStream = Streams.deviceProfile(uuid);
    const nameStream = Streams.deviceProfileName(spec.name);
    const payload = {
      uuid: command.uuid ?? null,
      name: command.name,
      description: command.description ?? null,
      groups: command.groups,
    };
    const outcome = await runCommand(() =>
      this.commands.handle<CreateDeviceProfileResult>(
        {
          commandId: command.commandId,
          type: ConductorCommands.createDeviceProfile,
          payload,
          metadata: { ...command.caller },
        },
        async (read) => {
          const [profile, name] = await Promise.all([
            read(DeviceProfileAggregate, profileStream),
            read(DeviceProfileNameAggregate, nameStream),
          ]);
          const now = new Date().toISOString();
          const decision = decideCreateDeviceProfile({ spec, uuid, now }, profile.state, name.state);
          if (decision instanceof DomainError) throw failureOf(decision);
          return {
            appends: [
              { streamId: profileStream, events: decision.profileEvents },
              { streamId: nameStream, events: decision.nameEvents },
            ],
            result: { uuid, name: spec.name, description: spec.description, groups: spec.groups, createdAt: now },
          };
        },
      ),
    );
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }
}

@Controller()
export class CreateDeviceProfileController {
  constructor(private readonly handler: CreateDeviceProfileHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.createDeviceProfile))
  createDeviceProfile(
    @Payload() command: CreateDeviceProfileCommand,
  ): Promise<CommandReply<CreateDeviceProfileResult>> {
    return this.handler.handle(command);
  }
}
