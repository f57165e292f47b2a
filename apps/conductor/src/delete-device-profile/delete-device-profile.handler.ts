import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  DeleteDeviceProfileCommand,
  type DeleteDeviceProfileResult,
  Streams,
} from '@cyborg/contracts';
import {
  canonicalUuid,
  decideDeleteDeviceProfile,
  type DeleteDeviceProfile,
  DomainError,
  evolveDeviceProfile,
  evolveDeviceProfileName,
  fold,
  initialDeviceProfileNameState,
  initialDeviceProfileState,
} from '@cyborg/domain';
import { type AppendRequest, CommandExecutor, EventStore, type RecordedEvent } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';

/**
 * Deletes device profiles named by uuid or name. Names resolve through their
 * name stream (the log), not a read model. All in one append: one unknown
 * profile deletes none of them (Cyborg deletes the ones before it).
 */
@Injectable()
export class DeleteDeviceProfileHandler {
  constructor(
    private readonly store: EventStore,
    private readonly executor: CommandExecutor,
  ) {}

  async handle(command: DeleteDeviceProfileCommand): Promise<CommandReply<DeleteDeviceProfileResult>> {
    const targets = command.profiles.map((value): DeleteDeviceProfile & { uuid: string | null } => {
      const uuid = canonicalUuid(value);
      return uuid ? { value, by: 'uuid', uuid } : { value, by: 'name', uuid: null };
    });
    const outcome = await runCommand(() =>
      this.executor.execute<DeleteDeviceProfileResult>(
        {
          commandId: command.commandId,
          type: ConductorCommands.deleteDeviceProfile,
          payload: { profiles: command.profiles },
          metadata: { ...command.caller },
        },
        async () => {
          const appends: AppendRequest[] = [];
          const deleted: string[] = [];
          for (const target of targets) {
            let nameEvents: RecordedEvent[] | null = null;
            let uuid = target.uuid;
            if (uuid === null) {
              nameEvents = await this.store.readStream(Streams.deviceProfileName(target.value));
              uuid = fold(nameEvents, evolveDeviceProfileName, initialDeviceProfileNameState).holder;
            }
            if (uuid !== null && deleted.includes(uuid)) continue; // named twice, e.g. by uuid and by name
            const profileEvents = uuid === null ? [] : await this.store.readStream(Streams.deviceProfile(uuid));
            const profile = fold(profileEvents, evolveDeviceProfile, initialDeviceProfileState);
            if (profile.profile && nameEvents === null) {
              nameEvents = await this.store.readStream(Streams.deviceProfileName(profile.profile.name));
            }
            const name = fold(nameEvents ?? [], evolveDeviceProfileName, initialDeviceProfileNameState);
            const decision = decideDeleteDeviceProfile(target, profile, name);
            if (decision instanceof DomainError) throw failureOf(decision);
            deleted.push(decision.uuid);
            appends.push({
              streamId: Streams.deviceProfile(decision.uuid),
              expectedVersion: profileEvents.length,
              events: decision.profileEvents,
            });
            if (decision.nameEvents.length > 0) {
              appends.push({
                streamId: Streams.deviceProfileName(decision.name),
                expectedVersion: nameEvents?.length ?? 0,
                events: decision.nameEvents,
              });
            }
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
