import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  ArqDeleted,
  type ArqDeletedV1,
  ArqUnbound,
  type ArqUnboundV1,
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  DeleteArqsCommand,
  type DeleteArqsResult,
  type HeldAttachHandleV1,
  Streams,
  UnbindArqsCommand,
  type UnbindArqsResult,
} from '@cyborg/contracts';
import {
  type ArqCaller,
  type ArqState,
  decideDeleteArq,
  decideUnbindArq,
  type DomainEvent,
  DomainError,
  evolveHost,
  fold,
  hostOfHeldHandle,
  type HostState,
  initialHostState,
  type ReleaseDecision,
} from '@cyborg/domain';
import { type AppendRequest, CommandExecutor, type StreamState } from '@cyborg/event-store';
import { failureOf, runCommand } from '../command-failure';
import { QuotaService } from '../quota/quota.service';
import { AgentWorkClient } from './agent-work.client';
import { arqCallerOf, ArqStreams } from './arq-streams';
import { HostLocks } from './host-locks';

type Decide = (uuid: string, arq: ArqState, host: HostState) => ReleaseDecision | DomainError;

interface Released {
  arqUuid: string;
  hostname: string;
  handle: HeldAttachHandleV1;
  attempt: number;
}

/**
 * Unbind and delete: each ARQ's events and the release of the handle it
 * holds (then the removal of whatever drained and now holds nothing) commit
 * together, so no handle is ever left in use without an ARQ holding it. The
 * agent is then asked to tidy the host (remove an mdev), best effort.
 */
@Injectable()
export class ReleaseArqsHandler {
  constructor(
    private readonly streams: ArqStreams,
    private readonly executor: CommandExecutor,
    private readonly locks: HostLocks,
    private readonly agents: AgentWorkClient,
    private readonly quota: QuotaService,
  ) {}

  async unbind(command: UnbindArqsCommand): Promise<CommandReply<UnbindArqsResult>> {
    const caller = arqCallerOf(command.caller);
    const decide: Decide = (uuid, arq, host) => decideUnbindArq(uuid, caller, arq, host);
    const done = await this.release(
      command,
      ConductorCommands.unbindArqs,
      { uuids: command.uuids },
      command.uuids,
      decide,
    );
    return { result: { unbound: done.uuids }, checkpoint: done.checkpoint };
  }

  async delete(command: DeleteArqsCommand): Promise<CommandReply<DeleteArqsResult>> {
    const caller: ArqCaller = arqCallerOf(command.caller);
    const { instanceUuid } = command;
    const decide: Decide = (uuid, arq, host) => decideDeleteArq({ uuid, caller, instanceUuid }, arq, host);
    const payload = { uuids: command.uuids, instanceUuid: instanceUuid ?? null };
    const done = await this.release(command, ConductorCommands.deleteArqs, payload, command.uuids, decide);
    return { result: { deleted: done.uuids }, checkpoint: done.checkpoint };
  }

  private async release(
    command: UnbindArqsCommand | DeleteArqsCommand,
    type: string,
    payload: object,
    requested: string[],
    decide: Decide,
  ) {
    const uuids = [...new Set(requested)];
    // The hosts whose handles these ARQs hold, to run with this conductor's binds there one at a time.
    const before = await Promise.all(uuids.map((uuid) => this.streams.arq(uuid)));
    const heldOn = before.map((s) => hostOfHeldHandle(s.state)).filter((h): h is string => h !== null);
    let released: Released[] = [];
    const quotaKeys = this.quota.lockKeys(before.map((s) => s.state.arq?.projectId ?? null));
    const outcome = await this.locks.run([...heldOn, ...quotaKeys], () =>
      runCommand(() =>
        this.executor.execute<{ uuids: string[] }>(
          { commandId: command.commandId, type, payload, metadata: { ...command.caller } },
          async () => {
            const arqs = await Promise.all(uuids.map((uuid) => this.streams.arq(uuid)));
            const hosts = new Map<string, StreamState<HostState> & { events: DomainEvent[] }>();
            for (const { state } of arqs) {
              const hostname = hostOfHeldHandle(state);
              if (hostname && !hosts.has(hostname))
                hosts.set(hostname, { ...(await this.streams.host(hostname)), events: [] });
            }
            const appends: AppendRequest[] = [];
            const done: string[] = [];
            const deleted: { uuid: string; projectId: string | null }[] = [];
            const refusals: DomainError[] = [];
            released = [];
            for (const [i, uuid] of uuids.entries()) {
              const { state, version } = arqs[i];
              const hostname = hostOfHeldHandle(state);
              const host = hostname ? hosts.get(hostname)! : { state: initialHostState, version: 0, events: [] };
              const decision = decide(uuid, state, host.state);
              if (decision instanceof DomainError) {
                refusals.push(decision);
                continue;
              }
              if (decision.arqEvents.length === 0) continue;
              // Two ARQs releasing on one host: the second decides on the state after the first.
              host.state = fold(decision.hostEvents, evolveHost, host.state);
              host.events.push(...decision.hostEvents);
              appends.push({ streamId: Streams.arq(uuid), expectedVersion: version, events: decision.arqEvents });
              done.push(uuid);
              if (decision.arqEvents.some((e) => e.type === ArqDeleted.type))
                deleted.push({ uuid, projectId: state.arq?.projectId ?? null });
              const releasedUuid = releasedHandleOf(decision.arqEvents);
              if (releasedUuid && hostname && state.arq?.holding) {
                released.push({
                  arqUuid: uuid,
                  hostname,
                  handle: state.arq.holding.handle,
                  attempt: state.arq.attempt,
                });
              }
            }
            // Cyborg answers a missing ARQ (404) before a forbidden one (403), and changes nothing.
            const refusal = refusals.find((r) => r.kind === 'not_found') ?? refusals[0];
            if (refusal) throw failureOf(refusal);
            for (const [hostname, host] of hosts) {
              appends.push({ streamId: Streams.host(hostname), expectedVersion: host.version, events: host.events });
            }
            appends.push(...(await this.quota.release(deleted)));
            return { appends, result: { uuids: done } };
          },
        ),
      ),
    );
    if (!outcome.duplicate) {
      for (const r of released) {
        this.agents.release(r.hostname, {
          jobId: `${r.arqUuid}:${r.attempt}:release`,
          arqUuid: r.arqUuid,
          attachHandle: r.handle,
        });
      }
    }
    return { uuids: outcome.result.uuids, checkpoint: outcome.checkpoint };
  }
}

function releasedHandleOf(events: DomainEvent[]): string | null {
  for (const event of events) {
    if (event.type === ArqUnbound.type) return (event.data as unknown as ArqUnboundV1).releasedAttachHandleUuid;
    if (event.type === ArqDeleted.type) return (event.data as unknown as ArqDeletedV1).releasedAttachHandleUuid;
  }
  return null;
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
