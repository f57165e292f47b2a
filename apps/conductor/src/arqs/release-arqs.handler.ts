import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  type CyborgEvent,
  DeleteArqsCommand,
  type DeleteArqsResult,
  Streams,
  UnbindArqsCommand,
  type UnbindArqsResult,
} from '@cyborg/contracts';
import {
  ArqAggregate,
  arqsOfInstanceDelete,
  decideReleaseArqs,
  DomainError,
  InstanceAggregate,
  type ReleaseArqs,
  type ReleasedHandle,
  streamsOfRelease,
} from '@cyborg/domain';
import { CommandHandler } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';
import { QuotaService } from '../quota/quota.service';
import { AgentWorkClient } from './agent-work.client';
import { appendsOf, arqCallerOf, loadArqBatch } from './arq-streams';
import { HostLocks } from './host-locks';
import { ReshapeJobs } from '../reshape/reshape-device.handler';

/**
 * Unbind and delete: loads the ARQs (for a delete by instance, also those
 * the instance's stream holds), the hosts of the handles they hold and their
 * instances, and lets the domain decide the release (decideReleaseArqs),
 * appended together. The agents are then asked to tidy the hosts of the
 * handles released (remove an mdev), best effort.
 */
@Injectable()
export class ReleaseArqsHandler {
  constructor(
    private readonly commands: CommandHandler<CyborgEvent>,
    private readonly locks: HostLocks,
    private readonly agents: AgentWorkClient,
    private readonly quota: QuotaService,
    private readonly reshapes: ReshapeJobs,
  ) {}

  async unbind(command: UnbindArqsCommand): Promise<CommandReply<UnbindArqsResult>> {
    const release: ReleaseArqs = { kind: 'unbind', uuids: command.uuids, caller: arqCallerOf(command.caller) };
    const done = await this.release(command, ConductorCommands.unbindArqs, { uuids: command.uuids }, release);
    return { result: { unbound: done.uuids }, checkpoint: done.checkpoint };
  }

  async delete(command: DeleteArqsCommand): Promise<CommandReply<DeleteArqsResult>> {
    const { instanceUuid } = command;
    const release: ReleaseArqs = {
      kind: 'delete',
      uuids: command.uuids,
      caller: arqCallerOf(command.caller),
      instanceUuid,
    };
    const payload = { uuids: command.uuids, instanceUuid: instanceUuid ?? null };
    const done = await this.release(command, ConductorCommands.deleteArqs, payload, release);
    return { result: { deleted: done.uuids }, checkpoint: done.checkpoint };
  }

  private async release(
    command: UnbindArqsCommand | DeleteArqsCommand,
    type: string,
    payload: object,
    release: ReleaseArqs,
  ) {
    // The hosts whose handles these ARQs hold, to run with this conductor's binds there one at a time (as
    // held: the command decides on the streams again, and its append checks their versions).
    const before = await Promise.all(release.uuids.map((uuid) => this.commands.peek(ArqAggregate, Streams.arq(uuid))));
    let released: ReleasedHandle[] = [];
    const quotaKeys = this.quota.lockKeys(before.map((b) => b.state.arq?.projectId ?? null));
    const outcome = await this.locks.run(
      [...streamsOfRelease(before.map((b) => b.state)).hostnames, ...quotaKeys],
      () =>
        runCommand(() =>
          this.commands.handle<{ uuids: string[] }>(
            { commandId: command.commandId, type, payload, metadata: { ...command.caller } },
            async (read) => {
              // By instance, the instance's own stream says which ARQs are bound to it, whatever a read model shows.
              const uuids = release.instanceUuid
                ? arqsOfInstanceDelete(
                    release.uuids,
                    (await read(InstanceAggregate, Streams.instance(release.instanceUuid))).state,
                  )
                : [...new Set(release.uuids)];
              const state = await loadArqBatch(read, uuids, streamsOfRelease);
              const decision = decideReleaseArqs({ ...release, uuids }, state);
              if (decision instanceof DomainError) throw failureOf(decision);
              released = decision.released;
              // A deleted ARQ stops counting against its project's quota, in the same append.
              const deleted =
                release.kind === 'delete'
                  ? decision.done.map((uuid) => ({ uuid, projectId: state.arqs.get(uuid)?.arq?.projectId ?? null }))
                  : [];
              const quota = await this.quota.release(read, deleted);
              return { appends: [...appendsOf(decision), ...quota], result: { uuids: decision.done } };
            },
          ),
        ),
    );
    if (!outcome.duplicate) {
      for (const r of released) {
        this.agents.release(r.hostname, {
          jobId: `${r.arqUuid}:${r.attempt}:release`,
          arqUuid: r.arqUuid,
          ...(r.attempt > 0 ? { attempt: r.attempt } : {}),
          attachHandle: r.handle,
        });
      }
      // A reshape that waited for these ARQs to let go may run now.
      if (released.length > 0) this.reshapes.resume([...new Set(released.map((r) => r.hostname))]);
    }
    return { uuids: outcome.result.uuids, checkpoint: outcome.checkpoint };
  }
}

@Controller()
export class ReleaseArqsController {
  constructor(private readonly handler: ReleaseArqsHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.unbindArqs))
  unbindArqs(@Payload() command: UnbindArqsCommand): Promise<CommandReply<UnbindArqsResult>> {
    return this.handler.unbind(command);
  }

  @MessagePattern(conductorSubject(ConductorCommands.deleteArqs))
  deleteArqs(@Payload() command: DeleteArqsCommand): Promise<CommandReply<DeleteArqsResult>> {
    return this.handler.delete(command);
  }
}
