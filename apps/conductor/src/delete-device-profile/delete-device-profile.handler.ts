import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type CyborgEvent,
  DeleteDeviceProfileCommand,
  type DeleteDeviceProfileResult,
  Streams,
} from '@cyborg/contracts';
import {
  canonicalUuid,
  decideDeleteDeviceProfile,
  type DeleteDeviceProfile,
  DeviceProfileAggregate,
  DeviceProfileNameAggregate,
  type DeviceProfileNameState,
  DomainError,
  initialDeviceProfileState,
} from '@cyborg/domain';
import { CommandHandler, type Decision } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';

/**
 * Deletes device profiles named by uuid or name. Names resolve through their
 * name stream (the log), not a read model. All in one append: one unknown
 * profile deletes none of them (Cyborg deletes the ones before it).
 */
@Injectable()
export class DeleteDeviceProfileHandler {
  constructor(private readonly commands: CommandHandler<CyborgEvent>) {}

  async handle(command: DeleteDeviceProfileCommand): Promise<CommandReply<DeleteDeviceProfileResult>> {
    const targets = command.profiles.map((value): DeleteDeviceProfile & { uuid: string | null } => {
      const uuid = canonicalUuid(value);
      return uuid ? { value, by: 'uuid', uuid } : { value, by: 'name', uuid: null };
    });
    const outcome = await runCommand(() =>
      this.commands.handle<DeleteDeviceProfileResult>(
        {
          commandId: command.commandId,
          type: ConductorCommands.deleteDeviceProfile,
          payload: { profiles: command.profiles },
          metadata: { ...command.caller },
        },
        async (read) => {
          const appends: Decision<unknown, CyborgEvent>['appends'] = [];
          const deleted: string[] = [];
          const nameOf = async (name: string) =>
            (await read(DeviceProfileNameAggregate, Streams.deviceProfileName(name))).state;
          for (const target of targets) {
            let name: DeviceProfileNameState | null = null;
            let uuid = target.uuid;
            if (uuid === null) {
              name = await nameOf(target.value);
              uuid = name.holder;
            }
            if (uuid !== null && deleted.includes(uuid)) continue; // named twice, e.g. by uuid and by name
            const profile =
              uuid === null
                ? initialDeviceProfileState
                : (await read(DeviceProfileAggregate, Streams.deviceProfile(uuid))).state;
            if (profile.profile && name === null) name = await nameOf(profile.profile.name);
            const decision = decideDeleteDeviceProfile(target, profile, name ?? { holder: null });
            if (decision instanceof DomainError) throw failureOf(decision);
            deleted.push(decision.uuid);
            appends.push({ streamId: Streams.deviceProfile(decision.uuid), events: decision.profileEvents });
            appends.push({ streamId: Streams.deviceProfileName(decision.name), events: decision.nameEvents });
          }
          return { appends, result: { deleted } };
        },
      ),
    );
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }
}

@Controller()
export class DeleteDeviceProfileController {
  constructor(private readonly handler: DeleteDeviceProfileHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.deleteDeviceProfile))
  deleteDeviceProfile(
    @Payload() command: DeleteDeviceProfileCommand,
  ): Promise<CommandReply<DeleteDeviceProfileResult>> {
    return this.handler.handle(command);
  }
}
