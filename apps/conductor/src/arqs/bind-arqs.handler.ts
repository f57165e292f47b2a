import { Controller, Injectable } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Settings } from '@cyborg/config';
import {
  type ArqBindStartedV1,
  ArqBindStarted,
  BindArqsCommand,
  type BindArqsResult,
  type BindFailure,
  type CommandReply,
  conductorSubject,
  ConductorCommands,
  Streams,
} from '@cyborg/contracts';
import {
  type Arq,
  checkBindable,
  decideBindArq,
  type DomainEvent,
  DomainError,
  evolveHost,
  fold,
  type HostState,
} from '@cyborg/domain';
import { type AppendRequest, type Checkpoint, CommandExecutor, compareCheckpoints } from '@cyborg/event-store';
import { RpcFailure } from '@cyborg/messaging';
import { failureOf, runCommand } from '../command-failure';
import { arqCallerOf, ArqStreams } from './arq-streams';
import { BindJobs } from './bind-jobs';
import { HostLocks } from './host-locks';

/**
 * Binds ARQs (Cyborg §10.3, holes closed). Every ARQ is checked before any
 * changes; then each bind takes a free attach handle of its deployable on the
 * host stream, in the same append as its BindStarted, with expected versions
 * on both streams. A bind that cannot start fails at once (BindFailed, with
 * the reason). Started binds are confirmed by the host's agent in the
 * background; the answer waits briefly for them, so instant binds are
 * already Bound when it comes, as upstream. Nova hears of every ARQ once
 * all have ended.
 */
@Injectable()
export class BindArqsHandler {
  constructor(
    private readonly streams: ArqStreams,
    private readonly executor: CommandExecutor,
    private readonly locks: HostLocks,
    private readonly jobs: BindJobs,
    private readonly settings: Settings,
  ) {}

  async handle(command: BindArqsCommand): Promise<CommandReply<BindArqsResult>> {
    const caller = arqCallerOf(command.caller);
    const { bindings } = command;
    if (new Set(bindings.map((b) => b.uuid)).size !== bindings.length) {
      throw RpcFailure.invalid("Couldn't apply patch. Reason: an ARQ appears more than once");
    }
    // Chosen once: a decision retried after a conflict keeps the same deadline.
    const deadline = new Date(Date.now() + this.settings.BIND_TIMEOUT_MS).toISOString();
    let started: ArqBindStartedV1[] = [];
    const outcome = await this.locks.run(
      bindings.map((b) => b.hostname),
      () =>
        runCommand(() =>
          this.executor.execute<BindArqsResult>(
            {
              commandId: command.commandId,
              type: ConductorCommands.bindArqs,
              payload: { bindings },
              metadata: { ...command.caller },
            },
            async () => {
              const arqs = await Promise.all(bindings.map((b) => this.streams.arq(b.uuid)));
              const checked: Arq[] = [];
              for (const [i, binding] of bindings.entries()) {
                const arq = checkBindable(binding.uuid, arqs[i].state, caller);
                if (arq instanceof DomainError) throw failureOf(arq);
                checked.push(arq);
              }
              const hosts = new Map<string, { state: HostState; version: number; events: DomainEvent[] }>();
              for (const hostname of new Set(bindings.map((b) => b.hostname))) {
                hosts.set(hostname, { ...(await this.streams.host(hostname)), events: [] });
              }
              const appends: AppendRequest[] = [];
              const states: BindArqsResult['states'] = {};
              let failure: BindFailure | null = null;
              started = [];
              for (const [i, binding] of bindings.entries()) {
                const host = hosts.get(binding.hostname)!;
                const decision = decideBindArq(
                  {
                    hostname: binding.hostname,
                    deviceRpUuid: binding.deviceRpUuid,
                    instanceUuid: binding.instanceUuid,
                    projectId: binding.projectId ?? caller.projectId ?? checked[i].projectId,
                    deadline,
                    now: new Date().toISOString(),
                  },
                  checked[i],
                  host.state,
                );
                // The next ARQ on this host decides against the state after this one's allocation.
                host.state = fold(decision.hostEvents, evolveHost, host.state);
                host.events.push(...decision.hostEvents);
                appends.push({
                  streamId: Streams.arq(binding.uuid),
                  expectedVersion: arqs[i].version,
                  events: decision.arqEvents,
                });
                states[binding.uuid] = decision.failure ? 'BindFailed' : 'BindStarted';
                if (decision.failure && !failure) {
                  const rpc = failureOf(decision.failure);
                  failure = { arqUuid: binding.uuid, status: rpc.status, code: rpc.code, message: rpc.message };
                }
                for (const event of decision.arqEvents) {
                  if (event.type === ArqBindStarted.type) started.push(event.data as unknown as ArqBindStartedV1);
                }
              }
              for (const [hostname, host] of hosts) {
                appends.push({ streamId: Streams.host(hostname), expectedVersion: host.version, events: host.events });
              }
              return { appends, result: { states, failure } };
            },
          ),
        ),
    );
    if (outcome.duplicate) return { result: outcome.result, checkpoint: outcome.checkpoint };

    let checkpoint = outcome.checkpoint;
    const jobs = started.map((s) =>
      this.jobs.run(s).then((resolution) => {
        if (resolution?.checkpoint && (!checkpoint || compareCheckpoints(resolution.checkpoint, checkpoint) > 0)) {
          checkpoint = resolution.checkpoint;
        }
        return resolution;
      }),
    );
    // Nova hears of each end from the log (NovaNotifier); a bind abandoned at shutdown is ended by the next sweep.
    await Promise.race([Promise.all(jobs), sleep(this.syncWaitMs)]);
    return { result: outcome.result, checkpoint: checkpoint as Checkpoint | null };
  }

  /** How long the answer waits for agents: instant binds finish well inside it; the API's request must not time out. */
  private get syncWaitMs(): number {
    return Math.min(2000, this.settings.RPC_TIMEOUT_MS / 2, this.settings.BIND_TIMEOUT_MS / 2);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

@Controller()
export class BindArqsController {
  constructor(private readonly handler: BindArqsHandler) {}

  @MessagePattern(conductorSubject(ConductorCommands.bindArqs))
  bindArqs(@Payload() command: BindArqsCommand): Promise<CommandReply<BindArqsResult>> {
    return this.handler.handle(command);
  }
}
