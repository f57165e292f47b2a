import { randomUUID } from 'node:crypto';
import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  CreateArqsCommand,
  type CreateArqsResult,
  type CyborgEvent,
  MAX_ARQS_PER_COMMAND,
  Streams,
} from '@cyborg/contracts';
import {
  arqCountsOfGroups,
  decideCreateArqs,
  DeviceProfileAggregate,
  DeviceProfileNameAggregate,
  DomainError,
  initialDeviceProfileState,
} from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';
import { QuotaService } from '../quota/quota.service';
import { arqCallerOf } from './arq-streams';

/**
 * Creates the ARQs of a device profile, found by name through its name
 * stream (the log, not a read model). Each ARQ gets its own stream and a
 * copy of its group; the profile's stream is only read.
 */
@Injectable()
export class CreateArqsHandler {
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly quota: QuotaService,
  ) {}

  async handle(command: CreateArqsCommand): Promise<CommandReply<CreateArqsResult>> {
    const caller = arqCallerOf(command.caller);
    const name = command.deviceProfileName;
    // Chosen once and grown as needed: a decision retried after a conflict keeps its uuids.
    const uuids: string[] = [];
    const releaseQuota = await this.quota.acquire([caller.projectId]);
    const outcome = await runCommand(() =>
      this.commands.handle<CreateArqsResult>(
        {
          commandId: command.commandId,
          type: ConductorCommands.createArqs,
          payload: { deviceProfileName: name },
          metadata: { ...command.caller },
        },
        async (read) => {
          const { holder } = (await read(DeviceProfileNameAggregate, Streams.deviceProfileName(name))).state;
          const profile = holder
            ? (await read(DeviceProfileAggregate, Streams.deviceProfile(holder))).state
            : initialDeviceProfileState;
          const wanted = profile.profile ? arqCountsOfGroups(profile.profile.groups).reduce((a, b) => a + b, 0) : 0;
          while (uuids.length < Math.min(wanted, MAX_ARQS_PER_COMMAND)) uuids.push(randomUUID());
          const arqs = decideCreateArqs(
            {
              deviceProfileName: name,
              projectId: caller.projectId,
              now: new Date().toISOString(),
              uuids,
              maxArqs: MAX_ARQS_PER_COMMAND,
            },
            profile,
          );
          if (arqs instanceof DomainError) throw failureOf(arqs);
          const quota = await this.quota.charge(
            read,
            caller.projectId,
            arqs.map((arq) => ({ uuid: arq.uuid, resourceClass: arq.created.resourceClass })),
          );
          return {
            appends: [
              ...arqs.map((arq) => ({ streamId: Streams.arq(arq.uuid), events: arq.events })),
              ...(quota ? [quota] : []),
            ],
            result: {
              arqs: arqs.map(({ created }) => ({
                uuid: created.uuid,
                deviceProfileName: created.deviceProfileName,
                deviceProfileGroupId: created.deviceProfileGroupId,
                projectId: created.projectId,
                createdAt: created.createdAt,
              })),
            },
          };
        },
      ),
    ).finally(releaseQuota);
    return { result: outcome.result, checkpoint: outcome.checkpoint };
  }
}

@Controller()
export class CreateArqsController {
  constructor(private readonly handler: CreateArqsHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.createArqs))
  createArqs(@Payload() command: CreateArqsCommand): Promise<CommandReply<CreateArqsResult>> {
    return this.handler.handle(command);
  }
}
